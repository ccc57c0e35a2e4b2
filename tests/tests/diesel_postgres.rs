//! The conformance kit and the Diesel specs on postgres, with UUID and i64 user ids, and
//! on a table with the API-token columns.

use authtoken_diesel::AsyncPgConnection;
use authtoken_tests::diesel::{DetailsIds, DieselBackend, I64Ids, UuidIds};

mod postgres_uuid {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<UuidIds, AsyncPgConnection>::setup(),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(UuidIds, AsyncPgConnection);
}

mod postgres_i64 {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<I64Ids, AsyncPgConnection>::setup(),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(I64Ids, AsyncPgConnection);
}

mod postgres_details {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<DetailsIds, AsyncPgConnection>::setup(),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
    authtoken_tests::diesel_details_suite!(AsyncPgConnection);
}

/// TLS as libpq reads `sslmode`: the local server (`ssl=on`, a self-signed certificate for
/// `localhost`) is reached over TLS with `require`; `verify-full` needs the certificate to chain
/// to `sslrootcert` and to name the host; `verify-ca` checks the chain only.
mod postgres_tls {
    use authtoken::DatabaseStrategy;
    use authtoken_conformance::Backend;
    use authtoken_diesel::{AsyncPgConnection, DieselStore};
    use authtoken_tests::diesel::{DieselBackend, I64Ids};
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    use sea_orm::ConnectionTrait;

    #[derive(QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }

    /// Whether the pool's connection to `url` runs over TLS, or why it could not connect.
    async fn over_tls(url: &str) -> Result<bool, String> {
        let pool = authtoken_diesel::connect::<AsyncPgConnection>(url, 1)
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = pool.get().await.unwrap();
        let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        let row: Ssl = diesel::sql_query(sql).get_result(&mut conn).await.unwrap();
        Ok(row.ssl)
    }

    #[test]
    fn sslmodes_reach_the_server_as_libpq_does() {
        authtoken_conformance::run(async {
            let Some(b) = DieselBackend::<I64Ids, AsyncPgConnection>::setup().await else {
                return;
            };
            let cert = b.db.conn.query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT setting FROM pg_settings WHERE name = 'ssl_cert_file'",
            ));
            let cert: String = cert.await.unwrap().unwrap().try_get_by_index(0).unwrap();
            let with = |mode: &str| {
                let separator = if b.db.url.contains('?') { '&' } else { '?' };
                format!("{}{separator}{mode}", b.db.url)
            };
            let localhost = |mode: &str| with(mode).replacen("127.0.0.1", "localhost", 1);

            assert_eq!(over_tls(&b.db.url).await, Ok(false), "no sslmode: no TLS, as before");
            assert_eq!(over_tls(&with("sslmode=require")).await, Ok(true));
            assert_eq!(over_tls(&with("sslmode=prefer")).await, Ok(true));
            let full = format!("sslmode=verify-full&sslrootcert={cert}");
            assert_eq!(
                over_tls(&localhost(&full)).await,
                Ok(true),
                "the certificate names localhost"
            );
            let wrong_name = over_tls(&with(&full)).await.unwrap_err();
            assert!(wrong_name.contains("certificate"), "{wrong_name}");
            let ca = format!("sslmode=verify-ca&sslrootcert={cert}");
            assert_eq!(over_tls(&with(&ca)).await, Ok(true), "verify-ca does not check the name");
            let public_roots = "sslmode=verify-full&sslrootcert=system";
            let untrusted = over_tls(&localhost(public_roots)).await.unwrap_err();
            assert!(untrusted.contains("invalid peer certificate"), "self-signed: {untrusted}");
            let no_root = over_tls(&with("sslmode=verify-ca")).await.unwrap_err();
            assert!(no_root.contains("need sslrootcert"), "{no_root}");

            // The store itself over TLS.
            let url = localhost(&full);
            let pool = authtoken_diesel::connect::<AsyncPgConnection>(&url, 2).await.unwrap();
            type Table = <I64Ids as authtoken_tests::diesel::Ids>::Table;
            let store = DieselStore::<Table, AsyncPgConnection>::new(pool);
            let strategy = DatabaseStrategy::new(store, None).unwrap();
            let user = b.create_user(true).await;
            let token = strategy.write_token(&user).await.unwrap();
            let read = strategy.read_token(token.expose_secret(), b.users()).await.unwrap();
            assert_eq!(read.map(|(u, _)| u.id), Some(user.id));
            drop(strategy); // its pool first: PostgreSQL drops no database in use
            b.cleanup().await;
        });
    }
}

/// Refresh tokens in the tables of the shipped refresh migration, UUID and i64 user ids.
mod postgres_refresh {
    use super::*;
    authtoken_conformance::spec_group! { refresh; DieselBackend::<UuidIds, AsyncPgConnection>::setup_with_refresh() }

    mod i64_ids {
        use super::*;
        authtoken_conformance::spec_group! { refresh; DieselBackend::<I64Ids, AsyncPgConnection>::setup_with_refresh() }
    }
}
