//! The conformance suite and the SQL suite on MySQL/MariaDB (`AUTHTOKEN_TEST_MYSQL_URL`), with UUID
//! and i64 user ids, and again with the session in a time zone far from UTC.

use authtoken_tests::sql::{Engine, SqlBackend, i64_users::I64Users, uuid_users::UuidUsers};

/// UTC+05:45: any conversion through the session zone would show.
const FAR_ZONE: &str = "SET time_zone = '+05:45'";

mod mysql_uuid {
    use super::*;
    authtoken_tests::conformance_suite!(
        SqlBackend::<UuidUsers>::setup(Engine::MySql, None),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::sql_suite!(SqlBackend::<UuidUsers>::setup(Engine::MySql, None));
}

mod mysql_i64 {
    use super::*;
    authtoken_tests::conformance_suite!(
        SqlBackend::<I64Users>::setup(Engine::MySql, None),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::sql_suite!(SqlBackend::<I64Users>::setup(Engine::MySql, None));
}

mod mysql_i64_far_time_zone {
    use super::*;
    authtoken_tests::conformance_suite!(
        SqlBackend::<I64Users>::setup(Engine::MySql, Some(FAR_ZONE)),
        listing,
        sessions,
        purging
    );
    authtoken_tests::sql_suite!(SqlBackend::<I64Users>::setup(Engine::MySql, Some(FAR_ZONE)));

    #[tokio::test]
    async fn the_session_really_is_in_the_far_zone() {
        let Some(b) = SqlBackend::<I64Users>::setup(Engine::MySql, Some(FAR_ZONE)).await else {
            return;
        };
        let zone =
            authtoken_tests::sql::query_one_string(&b.db, "SELECT @@session.time_zone").await;
        assert_eq!(zone, "+05:45");
        authtoken_tests::Backend::cleanup(b).await;
    }
}

/// API tokens: the details columns added to an existing table, every group.
mod mysql_details {
    use super::*;
    authtoken_tests::conformance_suite!(
        SqlBackend::<I64Users>::setup_with_details(Engine::MySql),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
}

/// Refresh tokens: the refresh-token tables beside the token table (the `refresh` group alone:
/// the suites above run the rest on the same tables).
mod mysql_refresh {
    use super::*;
    authtoken_conformance::spec_group! { refresh; SqlBackend::<UuidUsers>::setup_with_refresh(Engine::MySql) }
}
