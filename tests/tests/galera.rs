//! The SeaORM store on a MariaDB Galera cluster (`AUTHTOKEN_TEST_GALERA_URLS`), writes through
//! one node and reads through another: the conformance kit, and revocation that holds across
//! nodes at once (2,000 rounds of login-then-read and revoke-then-read, no miss).

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken_tests::Backend;
use authtoken_tests::galera::GaleraBackend;
use authtoken_tests::sql::{i64_users::I64Users, uuid_users::UuidUsers};

mod galera_uuid {
    use super::*;
    authtoken_tests::conformance_suite!(
        GaleraBackend::<UuidUsers>::setup(),
        listing,
        sessions,
        purging
    );
}

mod galera_i64 {
    use super::*;
    authtoken_tests::conformance_suite!(
        GaleraBackend::<I64Users>::setup(),
        listing,
        sessions,
        purging
    );
}

const ROUNDS: usize = 2000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_and_a_revocation_through_one_node_hold_at_once_through_another() {
    let Some(backend) = GaleraBackend::<I64Users>::setup().await else { return };
    let strategy = DatabaseStrategy::new(backend.store(), Some(Duration::from_secs(3600))).unwrap();
    let user = backend.create_user(true).await;
    let (mut unseen_logins, mut accepted_revoked) = (0, 0);
    for _ in 0..ROUNDS {
        let token = strategy.write_token(&user).await.unwrap().into_secret();
        if strategy.read_token(&token, backend.users()).await.unwrap().is_none() {
            unseen_logins += 1;
        }
        assert!(strategy.destroy_token(&token, &user).await.unwrap());
        if strategy.read_token(&token, backend.users()).await.unwrap().is_some() {
            accepted_revoked += 1;
        }
    }
    assert_eq!(
        (unseen_logins, accepted_revoked),
        (0, 0),
        "over {ROUNDS} rounds: logins unseen through the other node, revoked tokens accepted"
    );
    backend.cleanup().await;
}

/// Logins through the first node race "log out everywhere" through the second and purges
/// through the third (certification conflicts among them are retried): no call fails, every
/// login's token works until a later log-out-everywhere, and after the last one none does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_race_logout_everywhere_and_purges_across_nodes() {
    use authtoken_sea_orm::SeaOrmStore;

    let Some(backend) = GaleraBackend::<I64Users>::setup().await else { return };
    let urls = authtoken_tests::galera::node_urls().unwrap();
    let user = backend.create_user(true).await;
    let hour = Some(Duration::from_secs(3600));
    let first = std::sync::Arc::new(DatabaseStrategy::new(backend.store().writer, hour).unwrap());
    let second = DatabaseStrategy::new(backend.store().reader, hour).unwrap();
    let third_pool = backend.db.connect_through(urls.last().unwrap(), None).await;
    let third =
        SeaOrmStore::<authtoken_sea_orm::access_token::Entity<i64>>::new(third_pool.clone())
            .with_causal_reads();

    let mut logins = Vec::new();
    for _ in 0..16 {
        let (first, user) = (std::sync::Arc::clone(&first), user.clone());
        logins.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            for _ in 0..50 {
                tokens.push(first.write_token(&user).await.expect("a login failed").into_secret());
            }
            tokens
        }));
    }
    for _ in 0..20 {
        second.destroy_all_tokens(&user).await.expect("log out everywhere failed");
        let cutoff = chrono::Utc::now() - chrono::TimeDelta::hours(2);
        third.delete_created_before(cutoff, 100.try_into().unwrap()).await.expect("purge failed");
    }
    let mut issued = 0;
    for task in logins {
        issued += task.await.expect("a login task").len();
    }
    assert_eq!(issued, 16 * 50);
    second.destroy_all_tokens(&user).await.unwrap();
    let left =
        authtoken::ListTokens::list_of_user(&backend.store().reader, &user.id).await.unwrap();
    assert!(left.is_empty(), "{} tokens survived the last log out everywhere", left.len());
    third_pool.close().await.ok();
    backend.cleanup().await;
}

/// A cache on the second node, its revocation log's poller woken by that node's binary log
/// (which holds the writes replicated from the first node too): logouts, logs-out-everywhere and
/// a user's cascade through the first node reach it within 3 s, with a bound of a minute (a poll
/// every 30 s would let at most one or two of the six through in time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_on_another_node_hears_revocations_from_its_binary_log() {
    use authtoken::cache::{CacheOptions, CachedStore};
    use authtoken_migration::CreateRevocationLog;
    use authtoken_sea_orm::revocations::Revocations;
    use authtoken_sea_orm::{SeaOrmStore, access_token};
    use sea_orm_migration::{MigrationTrait, SchemaManager};

    const HOUR: Option<Duration> = Some(Duration::from_secs(3600));
    let Some(a) = GaleraBackend::<I64Users>::setup().await else { return };
    let log = CreateRevocationLog::new("access_token", authtoken_tests::sql::USER_TABLE, "id");
    log.up(&SchemaManager::new(&a.db.conn)).await.unwrap();
    let slow = CacheOptions {
        staleness_bound: Duration::from_secs(60),
        ..authtoken_tests::cached::options()
    };
    let reader_store: SeaOrmStore<access_token::Entity<i64>> =
        SeaOrmStore::new(a.second.clone()).detect_galera().await.unwrap();
    let cache = CachedStore::new(reader_store, slow).unwrap();
    let channel = Revocations::start(&a.second, cache.revocation_sink(), "access_token");
    let channel = channel.await.unwrap();
    authtoken_tests::cached::until_serving(&cache).await;
    let writer = DatabaseStrategy::new(a.store().writer.clone(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(cache.clone(), HOUR).unwrap();
    for round in 0..6 {
        let user = a.create_user(true).await;
        let token = writer.write_token(&user).await.unwrap().into_secret();
        for _ in 0..2 {
            assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
        }
        match round % 3 {
            0 => assert!(writer.destroy_token(&token, &user).await.unwrap()),
            1 => {
                writer.destroy_all_tokens(&user).await.unwrap();
            }
            _ => a.delete_user(&user).await,
        }
        let revoked = std::time::Instant::now();
        while reader.read_token(&token, a.users()).await.unwrap().is_some() {
            assert!(
                revoked.elapsed() < Duration::from_secs(3),
                "round {round}: the revocation through the other node waited for the poll"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    channel.stop().await;
    a.cleanup().await;
}
