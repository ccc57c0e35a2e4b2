//! The revocation-aware cache: the conformance kit through it (in memory, and on PostgreSQL with
//! LISTEN/NOTIFY), and revocations crossing from one process's cache to another's: every way a
//! token dies, on a healthy channel and on one cut or stalled (fail closed).
//!
//! "Another process" is a second cache with its own pool and listener on the same database: the
//! two share nothing in memory, exactly as two processes. Each check waits the staleness bound
//! after the revocation returned, then demands a refusal: the guarantee, not a timing.

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken::cache::CacheOptions;
use authtoken::cache::CachedStore;
use authtoken_migration::CreateRevocationLog;
use authtoken_sea_orm::revocations::{PgLogicalRevocations, PgRevocations, Revocations};
use authtoken_sea_orm::{SeaOrmStore, access_token};
use authtoken_tests::Backend;
use authtoken_tests::cached::{BOUND, CachedSqlBackend, options, until_serving};
use authtoken_tests::proxy::{FaultProxy, Mode};
use authtoken_tests::sql::Engine;
use authtoken_tests::sql::SqlBackend;
use authtoken_tests::sql::i64_users::I64Users;
use authtoken_tests::sql::uuid_users::UuidUsers;
use sea_orm::ConnectionTrait;

mod memory_cached {
    authtoken_tests::conformance_suite!(
        authtoken_tests::cached::memory_setup(),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
}

mod postgres_cached_uuid {
    use super::*;
    authtoken_tests::conformance_suite!(
        CachedSqlBackend::<UuidUsers>::setup(Engine::Postgres),
        listing,
        sessions,
        purging,
        limiting
    );
}

mod postgres_cached_i64 {
    use super::*;
    authtoken_tests::conformance_suite!(
        CachedSqlBackend::<I64Users>::setup(Engine::Postgres),
        listing,
        sessions,
        purging,
        limiting
    );
}

mod postgres_logical_cached_i64 {
    use super::*;
    authtoken_tests::conformance_suite!(
        CachedSqlBackend::<I64Users>::setup_logical(),
        listing,
        sessions,
        purging,
        limiting
    );
}

mod mysql_cached_uuid {
    use super::*;
    authtoken_tests::conformance_suite!(
        CachedSqlBackend::<UuidUsers>::setup(Engine::MySql),
        listing,
        sessions,
        purging,
        limiting
    );
}

mod sqlite_cached_i64 {
    use super::*;
    authtoken_tests::conformance_suite!(
        CachedSqlBackend::<I64Users>::setup(Engine::Sqlite),
        listing,
        sessions,
        purging,
        limiting
    );
}

type PgCache = CachedStore<SeaOrmStore<access_token::Entity<i64>>>;
type Strategy = DatabaseStrategy<PgCache>;

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

/// A token of a fresh user, read twice by `reader` so that its cache holds it and has hit.
async fn cached_token(
    a: &CachedSqlBackend<I64Users>,
    writer: &Strategy,
    reader: &Strategy,
    reader_store: &PgCache,
) -> (authtoken_tests::sql::i64_users::user::Model, String) {
    let user = a.create_user(true).await;
    let token = writer.write_token(&user).await.unwrap().into_secret();
    let hits = reader_store.stats().hits;
    for _ in 0..2 {
        let found = reader.read_token(&token, a.users()).await.unwrap();
        assert!(found.is_some(), "a fresh token was refused");
    }
    assert_eq!(reader_store.stats().hits, hits + 1, "the second read was a hit");
    (user, token)
}

/// Waits the bound, then demands that `reader` refuses `token`.
async fn refused_after_the_bound(
    reader: &Strategy,
    a: &CachedSqlBackend<I64Users>,
    token: &str,
    how: &str,
) {
    tokio::time::sleep(BOUND).await;
    let found = reader.read_token(token, a.users()).await.unwrap();
    assert!(found.is_none(), "{how}: the other process still accepted the token after the bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_way_a_token_dies_reaches_the_other_process() {
    every_way_a_token_dies_reaches_the_other_process(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logical_every_way_a_token_dies_reaches_the_other_process() {
    let Some(a) = CachedSqlBackend::<I64Users>::setup_logical().await else { return };
    every_way_a_token_dies(a, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_binlog_every_way_a_token_dies_reaches_the_other_process() {
    let Some(a) = CachedSqlBackend::<I64Users>::setup_binlog().await else { return };
    every_way_a_token_dies(a, false).await;
}

/// With its binary log on, MariaDB tells the log's poller of each revocation as it commits: with
/// a bound of a minute (a poll every 30 s), five revocations in a row each reach the other
/// process within 3 s. (Polling alone would let at most one or two of them through in time.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_binlog_revocations_arrive_without_waiting_for_the_poll() {
    let Some(sql) = SqlBackend::<I64Users>::setup_on_private_mariadb().await else { return };
    let manager = sea_orm_migration::SchemaManager::new(&sql.db.conn);
    let log = CreateRevocationLog::new("access_token", authtoken_tests::sql::USER_TABLE, "id");
    sea_orm_migration::MigrationTrait::up(&log, &manager).await.unwrap();
    let slow = CacheOptions { staleness_bound: Duration::from_secs(60), ..options() };
    let b_store = CachedStore::new(sql.db_store(), slow).unwrap();
    let b_channel = Revocations::start(&sql.db.conn, b_store.revocation_sink(), "access_token");
    let b_channel = b_channel.await.unwrap();
    until_serving(&b_store).await;
    let writer = DatabaseStrategy::new(sql.db_store(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();
    for round in 0..5 {
        let user = sql.create_user(true).await;
        let token = writer.write_token(&user).await.unwrap().into_secret();
        for _ in 0..2 {
            assert!(reader.read_token(&token, sql.users()).await.unwrap().is_some());
        }
        let hits = b_store.stats().hits;
        assert!(reader.read_token(&token, sql.users()).await.unwrap().is_some());
        assert_eq!(b_store.stats().hits, hits + 1, "round {round}: the token was cached");
        assert!(writer.destroy_token(&token, &user).await.unwrap());
        let revoked = std::time::Instant::now();
        while reader.read_token(&token, sql.users()).await.unwrap().is_some() {
            assert!(
                revoked.elapsed() < Duration::from_secs(3),
                "round {round}: the revocation waited for the poll"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    b_channel.stop().await;
    sql.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_every_way_a_token_dies_reaches_the_other_process() {
    every_way_a_token_dies_reaches_the_other_process(Engine::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_way_a_token_dies_reaches_the_other_process() {
    every_way_a_token_dies_reaches_the_other_process(Engine::Sqlite).await;
}

async fn every_way_a_token_dies_reaches_the_other_process(engine: Engine) {
    let Some(a) = CachedSqlBackend::<I64Users>::setup(engine).await else { return };
    every_way_a_token_dies(a, engine == Engine::Postgres).await;
}

async fn every_way_a_token_dies(a: CachedSqlBackend<I64Users>, truncate: bool) {
    let (b_store, b_channel) = CachedSqlBackend::cache(&a.sql).await;
    let writer = DatabaseStrategy::new(a.store(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();

    let (user, token) = cached_token(&a, &writer, &reader, &b_store).await;
    assert!(writer.destroy_token(&token, &user).await.unwrap());
    refused_after_the_bound(&reader, &a, &token, "logout").await;

    let (user, token) = cached_token(&a, &writer, &reader, &b_store).await;
    writer.destroy_all_tokens(&user).await.unwrap();
    refused_after_the_bound(&reader, &a, &token, "log out everywhere").await;

    let (_, token) = cached_token(&a, &writer, &reader, &b_store).await;
    a.sql.db.conn.execute_unprepared("DELETE FROM access_token").await.unwrap();
    refused_after_the_bound(&reader, &a, &token, "an operator's DELETE").await;

    let (user, token) = cached_token(&a, &writer, &reader, &b_store).await;
    // The user row goes; ON DELETE CASCADE takes the token; nobody calls the cache.
    a.sql.delete_user(&user).await;
    refused_after_the_bound(&reader, &a, &token, "the user's cascade").await;

    let (_, token) = cached_token(&a, &writer, &reader, &b_store).await;
    let cutoff = chrono::Utc::now() + chrono::TimeDelta::seconds(1);
    let purged = a.store().inner().delete_created_before(cutoff, 1000.try_into().unwrap()).await;
    assert!(purged.unwrap() >= 1);
    refused_after_the_bound(&reader, &a, &token, "purge").await;

    if truncate {
        let (_, token) = cached_token(&a, &writer, &reader, &b_store).await;
        a.sql.db.conn.execute_unprepared("TRUNCATE access_token").await.unwrap();
        refused_after_the_bound(&reader, &a, &token, "TRUNCATE").await;
    }

    // Deactivation is the application's call: it reaches the other process too.
    let (user, token) = cached_token(&a, &writer, &reader, &b_store).await;
    a.store().invalidate_user(&user.id).await.unwrap();
    tokio::time::sleep(BOUND).await;
    let misses = b_store.stats().misses;
    assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
    assert_eq!(b_store.stats().misses, misses + 1, "the user's entry was dropped");
    b_channel.stop().await;
    a.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_or_stalled_channel_serves_no_hits_and_recovers() {
    let Some(a) = CachedSqlBackend::<I64Users>::setup(Engine::Postgres).await else { return };
    cut_or_stalled_channel(a, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_or_stalled_logical_channel_serves_no_hits_and_recovers() {
    let Some(a) = CachedSqlBackend::<I64Users>::setup_logical().await else { return };
    cut_or_stalled_channel(a, true).await;
}

async fn cut_or_stalled_channel(a: CachedSqlBackend<I64Users>, logical: bool) {
    // Process B listens through a proxy; its reads and A's writes go straight to the server.
    let server = url::Url::parse(&a.sql.db.url).unwrap();
    let upstream = format!("{}:{}", server.host_str().unwrap(), server.port().unwrap_or(5432));
    let proxy = FaultProxy::start(upstream).await;
    let listen_via = sea_orm::Database::connect(proxy.url_for(&a.sql.db.url)).await.unwrap();
    let b_store = CachedStore::new(a.sql.db_store(), options()).unwrap();
    let sink = b_store.revocation_sink();
    let b_channel = if logical {
        Revocations::Logical(
            PgLogicalRevocations::start(&listen_via, sink, "access_token").await.unwrap(),
        )
    } else {
        Revocations::Notify(PgRevocations::start(&listen_via, sink, "access_token").await.unwrap())
    };
    until_serving(&b_store).await;
    let writer = DatabaseStrategy::new(a.store(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();

    for mode in [Mode::Cut, Mode::Stall] {
        let (user, token) = cached_token(&a, &writer, &reader, &b_store).await;
        proxy.set(mode);
        // The revocation is sent while B cannot hear it.
        assert!(writer.destroy_token(&token, &user).await.unwrap());
        refused_after_the_bound(&reader, &a, &token, &format!("{mode:?}")).await;
        assert!(!b_store.is_serving(), "{mode:?}: hits while the channel is down");
        let hits = b_store.stats().hits;
        let (_, other) = cached_token_without_hit_check(&a, &writer, &reader).await;
        assert_eq!(b_store.stats().hits, hits, "{mode:?}: a hit while the channel is down");
        proxy.set(Mode::Pass);
        until_serving(&b_store).await;
        assert!(reader.read_token(&token, a.users()).await.unwrap().is_none());
        assert!(reader.read_token(&other, a.users()).await.unwrap().is_some());
    }
    b_channel.stop().await;
    listen_via.close().await.unwrap();
    a.cleanup().await;
}

/// A token read twice by `reader`, without demanding a hit (the channel may be down).
async fn cached_token_without_hit_check(
    a: &CachedSqlBackend<I64Users>,
    writer: &Strategy,
    reader: &Strategy,
) -> (authtoken_tests::sql::i64_users::user::Model, String) {
    let user = a.create_user(true).await;
    let token = writer.write_token(&user).await.unwrap().into_secret();
    for _ in 0..2 {
        assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
    }
    (user, token)
}
