//! The cache fails closed when its revocation channel is not wired or cannot keep up: a
//! forgotten trigger migration is an error at start (M3), a trigger dropped or disabled while
//! running stops the hits, and a delete whose transaction stays open for longer than any
//! patience still reaches the cache when it commits (M4). The same for PostgreSQL's logical
//! channel: its publication forgotten, incomplete or taken away, a long transaction.

use std::time::{Duration, Instant};

use authtoken::DatabaseStrategy;
use authtoken::cache::CachedStore;
use authtoken_migration::{
    CreateRevocationLog, CreateRevocationPublication, CreateRevocationTrigger,
};
use authtoken_sea_orm::revocations::{PgLogicalRevocations, Revocations};
use authtoken_tests::Backend;
use authtoken_tests::cached::{BOUND, CachedSqlBackend, options};
use authtoken_tests::sql::i64_users::I64Users;
use authtoken_tests::sql::{Engine, SqlBackend, USER_TABLE};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sea_orm_migration::{MigrationTrait, SchemaManager};

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

async fn forgotten_migration_is_an_error(engine: Engine) {
    let Some(sql) = SqlBackend::<I64Users>::setup(engine, None).await else { return };
    let store = CachedStore::new(sql.db_store(), options()).unwrap();
    let started = Revocations::start(&sql.db.conn, store.revocation_sink(), "access_token").await;
    assert!(
        matches!(started, Err(authtoken::Error::Config(_)) | Err(authtoken::Error::Store(_))),
        "{engine:?}: a channel started without its trigger or log"
    );
    assert!(!store.is_serving());
    // With the log table but not its triggers (dropped by hand), still refused.
    if engine != Engine::Postgres {
        let manager = SchemaManager::new(&sql.db.conn);
        CreateRevocationLog::new("access_token", USER_TABLE, "id").up(&manager).await.unwrap();
        let drop = match engine {
            Engine::MySql => "DROP TRIGGER `access_token_revoked`",
            _ => r#"DROP TRIGGER "access_token_revoked""#,
        };
        sql.db.conn.execute_unprepared(drop).await.unwrap();
        let started =
            Revocations::start(&sql.db.conn, store.revocation_sink(), "access_token").await;
        assert!(matches!(started, Err(authtoken::Error::Config(_))), "{engine:?}: {started:?}");
    }
    sql.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_its_trigger_the_channel_does_not_start() {
    forgotten_migration_is_an_error(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_without_its_log_the_channel_does_not_start() {
    forgotten_migration_is_an_error(Engine::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_without_its_log_the_channel_does_not_start() {
    forgotten_migration_is_an_error(Engine::Sqlite).await;
}

async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A trigger taken away while the cache runs (dropped, or disabled) stops its hits; a token
/// deleted meanwhile is refused; put back, the cache serves again.
async fn a_trigger_taken_away_stops_the_hits(engine: Engine) {
    let Some(a) = CachedSqlBackend::<I64Users>::setup(engine).await else { return };
    let (b_store, b_channel) = CachedSqlBackend::cache(&a.sql).await;
    let writer = DatabaseStrategy::new(a.store(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();
    let takeaways: &[&str] = match engine {
        Engine::Postgres => &[
            r#"DROP TRIGGER "access_token_revoked" ON "access_token""#,
            r#"ALTER TABLE "access_token" DISABLE TRIGGER "access_token_revoked""#,
        ],
        Engine::MySql => &["DROP TRIGGER `access_token_revoked`"],
        Engine::Sqlite => &[r#"DROP TRIGGER "access_token_revoked""#],
    };
    let manager = SchemaManager::new(&a.sql.db.conn);
    for takeaway in takeaways {
        let user = a.create_user(true).await;
        let token = writer.write_token(&user).await.unwrap().into_secret();
        for _ in 0..2 {
            assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
        }
        a.sql.db.conn.execute_unprepared(takeaway).await.unwrap();
        until(&format!("{engine:?}: hits stop after {takeaway}"), || !b_store.is_serving()).await;
        let key = authtoken_conformance::spec::sha256_base64url(&token);
        let delete = format!("DELETE FROM access_token WHERE token = '{key}'");
        a.sql.db.conn.execute_unprepared(&delete).await.unwrap();
        assert!(reader.read_token(&token, a.users()).await.unwrap().is_none(), "{takeaway}");
        match engine {
            Engine::Postgres => {
                CreateRevocationTrigger::new("access_token").up(&manager).await.unwrap();
            }
            Engine::MySql => {
                let log = CreateRevocationLog::new("access_token", USER_TABLE, "id");
                log.up(&manager).await.unwrap();
            }
            // The dropped trigger alone, as the migration writes it.
            Engine::Sqlite => {
                let restore = r#"CREATE TRIGGER "access_token_revoked" AFTER DELETE ON "access_token" FOR EACH ROW BEGIN INSERT INTO "access_token_revocation" (token, revoked_at) VALUES (OLD.token, strftime('%Y-%m-%d %H:%M:%f', 'now')); END"#;
                a.sql.db.conn.execute_unprepared(restore).await.unwrap();
            }
        }
        until(&format!("{engine:?}: serving again"), || b_store.is_serving()).await;
        assert!(reader.read_token(&token, a.users()).await.unwrap().is_none());
    }
    b_channel.stop().await;
    a.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_trigger_taken_away_stops_the_hits() {
    a_trigger_taken_away_stops_the_hits(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_a_trigger_taken_away_stops_the_hits() {
    a_trigger_taken_away_stops_the_hits(Engine::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_trigger_taken_away_stops_the_hits() {
    a_trigger_taken_away_stops_the_hits(Engine::Sqlite).await;
}

/// M4: `BEGIN; DELETE <victim's token>`, held open for 12 s while another logout commits (a
/// gap in the log's ids), then committed: the other process's cache refuses the victim's token
/// within the bound of the commit. (Giving the gap up after a patience lost the revocation.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_a_delete_held_open_for_long_still_reaches_the_cache() {
    let Some(a) = CachedSqlBackend::<I64Users>::setup(Engine::MySql).await else { return };
    let (b_store, b_channel) = CachedSqlBackend::cache(&a.sql).await;
    let writer = DatabaseStrategy::new(a.store(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();
    let victim = a.create_user(true).await;
    let token = writer.write_token(&victim).await.unwrap().into_secret();
    let other = a.create_user(true).await;
    let other_token = writer.write_token(&other).await.unwrap().into_secret();
    for _ in 0..2 {
        assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
    }

    let held = a.sql.db.conn.begin().await.unwrap();
    let key = authtoken_conformance::spec::sha256_base64url(&token);
    held.execute_unprepared(&format!("DELETE FROM access_token WHERE token = '{key}'"))
        .await
        .unwrap();
    assert!(writer.destroy_token(&other_token, &other).await.unwrap(), "the later logout");
    tokio::time::sleep(Duration::from_secs(12)).await;
    // Not committed: still a valid token, as the database says.
    assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
    held.commit().await.unwrap();
    tokio::time::sleep(BOUND * 2).await;
    assert!(
        reader.read_token(&token, a.users()).await.unwrap().is_none(),
        "the cache accepted a token whose delete committed after a long transaction"
    );
    b_channel.stop().await;
    a.cleanup().await;
}

/// The logical channel (on the private server, `wal_level = logical`) refuses to start without
/// the publication, with one that misses deletes or truncates or filters rows, and on a server
/// that does not decode its WAL logically (the shared one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logical_without_a_complete_publication_the_channel_does_not_start() {
    let Some(sql) = SqlBackend::<I64Users>::setup_on_private_postgres().await else { return };
    let store = CachedStore::new(sql.db_store(), options()).unwrap();
    let start =
        || PgLogicalRevocations::start(&sql.db.conn, store.revocation_sink(), "access_token");
    assert!(matches!(start().await, Err(authtoken::Error::Config(_))), "no publication");
    // Nothing installed: the choice falls to the trigger's channel, which is refused too.
    let chosen = Revocations::start(&sql.db.conn, store.revocation_sink(), "access_token").await;
    assert!(matches!(chosen, Err(authtoken::Error::Config(_))), "nothing installed");
    let incomplete = [
        "CREATE PUBLICATION access_token_revocations FOR TABLE access_token WITH (publish = 'insert, update')",
        "CREATE PUBLICATION access_token_revocations FOR TABLE access_token WITH (publish = 'delete')",
        "CREATE PUBLICATION access_token_revocations FOR TABLE access_token WHERE (user_id < 0) WITH (publish = 'delete, truncate')",
        "CREATE PUBLICATION access_token_revocations FOR TABLE bench_absent WITH (publish = 'delete, truncate')",
    ];
    for publication in incomplete {
        sql.db
            .conn
            .execute_unprepared("DROP PUBLICATION IF EXISTS access_token_revocations")
            .await
            .unwrap();
        // The last one names a table that does not exist: it fails, leaving no publication.
        let _ = sql.db.conn.execute_unprepared(publication).await;
        assert!(matches!(start().await, Err(authtoken::Error::Config(_))), "{publication}");
    }
    assert!(!store.is_serving());
    sql.cleanup().await;

    // The shared server keeps wal_level = replica: the publication alone is not enough.
    let Some(shared) = SqlBackend::<I64Users>::setup(Engine::Postgres, None).await else { return };
    let manager = SchemaManager::new(&shared.db.conn);
    CreateRevocationPublication::new("access_token").up(&manager).await.unwrap();
    let store = CachedStore::new(shared.db_store(), options()).unwrap();
    let started =
        PgLogicalRevocations::start(&shared.db.conn, store.revocation_sink(), "access_token").await;
    assert!(matches!(started, Err(authtoken::Error::Config(_))), "wal_level = replica");
    // There the choice is the trigger, once it is installed.
    CreateRevocationTrigger::new("access_token").up(&manager).await.unwrap();
    let chosen = Revocations::start(&shared.db.conn, store.revocation_sink(), "access_token");
    let chosen = chosen.await.unwrap();
    assert!(matches!(chosen, Revocations::Notify(_)));
    chosen.stop().await;
    shared.cleanup().await;
}

/// The publication taken away while the cache runs (dropped, narrowed to inserts, or the table
/// dropped from it) stops the hits; a token deleted meanwhile is refused; put back, the cache
/// serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logical_a_publication_taken_away_stops_the_hits() {
    let Some(a) = CachedSqlBackend::<I64Users>::setup_logical().await else { return };
    let (b_store, b_channel) = CachedSqlBackend::cache(&a.sql).await;
    let writer = DatabaseStrategy::new(a.store(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();
    let manager = SchemaManager::new(&a.sql.db.conn);
    for takeaway in [
        "DROP PUBLICATION access_token_revocations",
        "ALTER PUBLICATION access_token_revocations SET (publish = 'insert')",
        "ALTER PUBLICATION access_token_revocations DROP TABLE access_token",
    ] {
        let user = a.create_user(true).await;
        let token = writer.write_token(&user).await.unwrap().into_secret();
        for _ in 0..2 {
            assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
        }
        a.sql.db.conn.execute_unprepared(takeaway).await.unwrap();
        until(&format!("hits stop after {takeaway}"), || !b_store.is_serving()).await;
        let key = authtoken_conformance::spec::sha256_base64url(&token);
        let delete = format!("DELETE FROM access_token WHERE token = '{key}'");
        a.sql.db.conn.execute_unprepared(&delete).await.unwrap();
        assert!(reader.read_token(&token, a.users()).await.unwrap().is_none(), "{takeaway}");
        CreateRevocationPublication::new("access_token").up(&manager).await.unwrap();
        until(&format!("serving again after {takeaway}"), || b_store.is_serving()).await;
        assert!(reader.read_token(&token, a.users()).await.unwrap().is_none());
    }
    b_channel.stop().await;
    a.cleanup().await;
}

/// A transaction that wrote and stays open delays a new channel's slot (the server waits for
/// it before decoding): the cache serves nothing meanwhile, and the delete that transaction
/// made reaches it when it commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logical_a_long_transaction_delays_the_channel_but_never_opens_it() {
    let Some(a) = CachedSqlBackend::<I64Users>::setup_logical().await else { return };
    let writer = DatabaseStrategy::new(a.store(), HOUR).unwrap();
    let victim = a.create_user(true).await;
    let token = writer.write_token(&victim).await.unwrap().into_secret();
    let held = a.sql.db.conn.begin().await.unwrap();
    let key = authtoken_conformance::spec::sha256_base64url(&token);
    held.execute_unprepared(&format!("DELETE FROM access_token WHERE token = '{key}'"))
        .await
        .unwrap();

    let b_store = CachedStore::new(a.sql.db_store(), options()).unwrap();
    let b_channel =
        PgLogicalRevocations::start(&a.sql.db.conn, b_store.revocation_sink(), "access_token");
    let b_channel = b_channel.await.unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();
    for _ in 0..20 {
        assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
        tokio::time::sleep(BOUND / 4).await;
    }
    assert!(!b_store.is_serving(), "a cache served while its slot waited for a transaction");
    assert_eq!(b_store.stats().hits, 0);
    held.commit().await.unwrap();
    until("serving once the transaction ended", || b_store.is_serving()).await;
    assert!(reader.read_token(&token, a.users()).await.unwrap().is_none());
    b_channel.stop().await;
    a.cleanup().await;
}
