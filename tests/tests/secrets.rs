//! In hashed mode no plaintext token is stored or logged: every raw row is read back after logins,
//! and everything logged at TRACE level (SeaORM's and sqlx's statement logs included) is searched.

use std::time::Duration;

use authtoken::{DatabaseStrategy, User};
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers};
use authtoken_tests::Backend;
use authtoken_tests::logs::CapturedLogs;
use authtoken_tests::spec::sha256_base64url;
use authtoken_tests::sql::uuid_users::{UuidUsers, access_token, user};
use authtoken_tests::sql::{Engine, SqlBackend};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, Statement};

async fn nothing_secret_is_stored_or_logged(engine: Engine) {
    let Some(b) = SqlBackend::<UuidUsers>::setup(engine, None).await else { return };
    let logs = CapturedLogs::global();
    // A pool that logs every statement, as an application debugging its queries would run.
    let mut options = ConnectOptions::new(&b.db.url);
    options.sqlx_logging(true).sqlx_logging_level(tracing::log::LevelFilter::Trace);
    let conn = Database::connect(options).await.unwrap();
    let store = SeaOrmStore::<access_token::Entity>::new(conn.clone());
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600))).unwrap();
    let users = SeaOrmUsers::<user::Entity>::new(conn.clone());

    let alice = b.create_user(true).await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let token = strategy.write_token(&alice).await.unwrap();
        tracing::debug!(?token, "issued"); // what a careless caller might log
        tokens.push(token.into_secret());
    }
    for token in &tokens {
        assert!(strategy.read_token(token, &users).await.unwrap().is_some());
        assert!(
            strategy
                .read_token::<user::Model, _>(token, &authtoken::Joined)
                .await
                .unwrap()
                .is_some()
        );
    }
    strategy.purge_expired(std::num::NonZeroU32::new(10).unwrap()).await.unwrap();

    // Every column of every raw row, as text.
    let backend = b.db.conn.get_database_backend();
    let sql = match engine {
        Engine::Postgres => {
            "SELECT token || '|' || user_id::text || '|' || created_at::text AS r FROM access_token"
        }
        Engine::MySql => {
            "SELECT CONCAT(token, '|', HEX(user_id), '|', created_at) AS r FROM access_token"
        }
        Engine::Sqlite => {
            "SELECT token || '|' || hex(user_id) || '|' || created_at AS r FROM access_token"
        }
    };
    let rows = b.db.conn.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    let rows: Vec<String> = rows.iter().map(|r| r.try_get("", "r").unwrap()).collect();
    assert_eq!(rows.len(), tokens.len());
    for token in &tokens {
        assert!(
            rows.iter().all(|row| !row.contains(token.as_str())),
            "a row holds a plaintext token"
        );
        assert!(
            rows.iter().any(|row| row.starts_with(&sha256_base64url(token))),
            "its hash is stored"
        );
    }

    for token in &tokens {
        strategy.destroy_token(token, &alice).await.unwrap();
    }
    let logged = logs.text();
    assert!(
        logged.contains("INSERT INTO") && logged.contains("access_token"),
        "the statements were not captured"
    );
    for token in &tokens {
        assert!(!logged.contains(token.as_str()), "a plaintext token was logged");
    }
    eprintln!(
        "{engine:?}: {} raw rows and {} bytes of TRACE logs hold no plaintext",
        rows.len(),
        logged.len()
    );
    let _ = alice.id();
    conn.close().await.ok();
    b.cleanup().await;
}

#[tokio::test]
async fn sqlite_stores_and_logs_no_plaintext() {
    nothing_secret_is_stored_or_logged(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_stores_and_logs_no_plaintext() {
    nothing_secret_is_stored_or_logged(Engine::Postgres).await;
}

#[tokio::test]
async fn mariadb_stores_and_logs_no_plaintext() {
    nothing_secret_is_stored_or_logged(Engine::MySql).await;
}

/// Every type that holds a live token (or a password) prints at most a short prefix of it.
#[tokio::test]
async fn debug_of_every_type_holding_a_token_hides_it() {
    use authtoken::StorageMode;
    use authtoken::memory::{MemoryStore, MemoryUsers};
    use authtoken_tests::memory::MemoryUser;

    let users = MemoryUsers::new();
    let user = MemoryUser { id: 1u64, is_active: true };
    users.insert(user.clone());
    // Plain mode: the stored key is the token itself, the worst case for a stray `{:?}`.
    let store = MemoryStore::new();
    let strategy = DatabaseStrategy::new(store.clone(), Some(Duration::from_secs(60)))
        .unwrap()
        .with_storage_mode(StorageMode::Plain);
    let token = strategy.write_token(&user).await.unwrap();
    let secret = token.expose_secret().to_owned();
    let row = strategy.read_token_row(&secret).await.unwrap().unwrap();
    let model = access_token::Model {
        token: secret.clone(),
        user_id: uuid::Uuid::new_v4(),
        created_at: chrono::Utc::now(),
    };
    let found = authtoken_http::Authenticated {
        user: user.clone(),
        token: authtoken_http::PresentedToken::new(secret.clone()),
        backend: 0,
        scopes: vec![],
    };
    let body = format!("username=alice&password={secret}");
    let headers = http::HeaderMap::new();
    let login =
        authtoken_http::LoginRequest { headers: &headers, client: None, body: body.as_bytes() };
    let shown = [
        format!("{token:?}"),
        format!("{token}"),
        format!("{row:?}"),
        format!("{store:?}"),
        format!("{strategy:?}"),
        format!("{model:?}"),
        format!("{found:?}"),
        format!("{login:?}"),
    ];
    for text in shown {
        assert!(!text.contains(&secret), "{text} shows the token");
        assert!(!text.contains(&secret[..7]), "{text} shows more than a six-character prefix");
    }
}
