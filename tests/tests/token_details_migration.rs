//! `AddTokenDetails` on an existing token table, up, down and up again on every SQL backend:
//! tokens issued before keep working throughout, the store finds the columns exactly when they
//! are there, and a named token round-trips once they are.

use std::time::Duration;

use authtoken::{AccessTokenStore, DatabaseStrategy, IssueOptions, TokenColumns};
use authtoken_migration::AddTokenDetails;
use authtoken_tests::Backend;
use authtoken_tests::sql::{Engine, SqlBackend, i64_users::I64Users};
use sea_orm::ConnectionTrait;
use sea_orm_migration::{MigrationTrait, SchemaManager};

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

async fn up_down_up(engine: Engine) {
    let Some(b) = SqlBackend::<I64Users>::setup(engine, None).await else { return };
    let manager = SchemaManager::new(&b.db.conn);
    let user = b.create_user(true).await;
    let before = DatabaseStrategy::new(b.db_store(), HOUR).unwrap();
    let old_token = before.write_token(&user).await.unwrap().into_secret();
    let migration = AddTokenDetails::new("access_token");

    for round in ["up", "up again"] {
        migration.up(&manager).await.unwrap_or_else(|e| panic!("{round}: {e}"));
        let store = b.db_store().detect_details().await.unwrap();
        assert_eq!(store.columns(), TokenColumns::DETAILS, "{round}: the columns were not found");
        let strategy = DatabaseStrategy::new(store, HOUR).unwrap();
        let found = strategy.read_token(&old_token, b.users()).await.unwrap();
        assert!(found.is_some(), "{round}: a token from before the columns stopped working");
        let named = IssueOptions::new().name("deploy").scopes(["read"]);
        let token = strategy.issue_token(&user, &named).await.unwrap().into_secret();
        let row = strategy.read_token_row(&token).await.unwrap().expect("the named token");
        assert_eq!(row.details.name.as_deref(), Some("deploy"), "{round}");
        assert_eq!(row.details.scopes, ["read"], "{round}");
        if round == "up" {
            migration.down(&manager).await.expect("down");
            let store = b.db_store().detect_details().await.unwrap();
            assert_eq!(store.columns(), TokenColumns::NONE, "down left the columns");
            let strategy = DatabaseStrategy::new(store, HOUR).unwrap();
            let found = strategy.read_token(&old_token, b.users()).await.unwrap();
            assert!(found.is_some(), "down broke a token from before the columns");
        }
    }

    // The columns are read from the catalog: a table that is not there has none (the table
    // check reports it), and a migration applied in part is a schema error, never "no
    // columns", which would ignore each token's own expiry. (A table of its own: DDL on one
    // pooled SQLite connection after DDL on another can parse against a stale schema.)
    let missing = b.db_store().with_table("no_such_table").detect_details().await.unwrap();
    assert_eq!(missing.columns(), TokenColumns::NONE);
    let partial = "CREATE TABLE partial_token (token VARCHAR(64) PRIMARY KEY, \
                   user_id BIGINT NOT NULL, created_at TIMESTAMP NULL, name VARCHAR(255) NULL)";
    b.db.conn.execute_unprepared(partial).await.expect("a table with one of the columns");
    let found = b.db_store().with_table("partial_token").detect_details().await;
    assert!(matches!(found, Err(authtoken::Error::Schema(_))), "{found:?}");
    b.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_adds_drops_and_adds_the_details_columns() {
    up_down_up(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_adds_drops_and_adds_the_details_columns() {
    up_down_up(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_adds_drops_and_adds_the_details_columns() {
    up_down_up(Engine::MySql).await;
}
