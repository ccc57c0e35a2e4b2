//! The cache in front of the Redis store, kept current by `RedisRevocations` (pub/sub on every
//! primary): the conformance kit on one Redis and on the cluster; every way a token dies reaches
//! another process's cache within the bound; a cut or stalled subscription serves no hits.

use std::time::{Duration, Instant};

use authtoken::cache::CachedStore;
use authtoken::{DatabaseStrategy, StorageMode};
use authtoken_redis::{RedisRevocations, RedisStore, ValueFormat};
use authtoken_tests::Backend;
use authtoken_tests::cached::{BOUND, options, until_serving};
use authtoken_tests::memory::MemoryUser;
use authtoken_tests::proxy::{FaultProxy, Mode};
use authtoken_tests::redis::CachedRedisBackend;

const SINGLE: (&str, Option<&str>) = ("AUTHTOKEN_TEST_REDIS_URL", Some("redis://127.0.0.1:6379"));
const CLUSTER: (&str, Option<&str>) = ("AUTHTOKEN_TEST_REDIS_CLUSTER_URL", None);
const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

mod single_cached {
    authtoken_conformance::conformance_suite!(
        authtoken_tests::redis::CachedRedisBackend::setup(super::SINGLE.0, super::SINGLE.1),
        listing,
        sessions,
        limiting
    );
}

mod cluster_cached {
    authtoken_conformance::conformance_suite!(
        authtoken_tests::redis::CachedRedisBackend::setup(super::CLUSTER.0, super::CLUSTER.1),
        limiting
    );
}

type Cache = CachedStore<RedisStore<u64>>;
type Strategy = DatabaseStrategy<Cache>;

/// A token of a fresh user, read twice by `reader` so that its cache holds it and has hit.
async fn cached_token(
    a: &CachedRedisBackend,
    writer: &Strategy,
    reader: &Strategy,
) -> (MemoryUser<u64>, String) {
    let user = a.create_user(true).await;
    let token = writer.write_token(&user).await.unwrap().into_secret();
    let hits = reader.store().stats().hits;
    for _ in 0..2 {
        let found = reader.read_token(&token, a.users()).await.unwrap();
        assert!(found.is_some(), "a fresh token was refused");
    }
    assert_eq!(reader.store().stats().hits, hits + 1, "the second read was a hit");
    (user, token)
}

/// Waits the bound, then demands that `reader` refuses `token`.
async fn refused_after_the_bound(
    reader: &Strategy,
    a: &CachedRedisBackend,
    token: &str,
    how: &str,
) {
    tokio::time::sleep(BOUND).await;
    let found = reader.read_token(token, a.users()).await.unwrap();
    assert!(found.is_none(), "{how}: the other process still accepted the token after the bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_every_way_a_token_dies_reaches_the_other_process() {
    every_way_a_token_dies_reaches_the_other_process(SINGLE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_every_way_a_token_dies_reaches_the_other_process() {
    every_way_a_token_dies_reaches_the_other_process(CLUSTER).await;
}

async fn every_way_a_token_dies_reaches_the_other_process(
    (variable, default): (&str, Option<&str>),
) {
    let Some(a) = CachedRedisBackend::setup(variable, default).await else { return };
    let (b_store, b_channel) = CachedRedisBackend::cache(a.redis.store()).await;
    let writer = DatabaseStrategy::new(a.store(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();

    let (user, token) = cached_token(&a, &writer, &reader).await;
    assert!(writer.destroy_token(&token, &user).await.unwrap());
    refused_after_the_bound(&reader, &a, &token, "logout").await;

    let (user, token) = cached_token(&a, &writer, &reader).await;
    writer.destroy_all_tokens(&user).await.unwrap();
    refused_after_the_bound(&reader, &a, &token, "log out everywhere").await;

    // A process with no cache (the operator's CLI): its delete script announces the delete.
    let (user, token) = cached_token(&a, &writer, &reader).await;
    let uncached = DatabaseStrategy::new(a.redis.store(), HOUR).unwrap();
    assert!(uncached.destroy_token(&token, &user).await.unwrap());
    refused_after_the_bound(&reader, &a, &token, "an uncached process's logout").await;

    // Deactivation is the application's call: it reaches the other process too.
    let (user, token) = cached_token(&a, &writer, &reader).await;
    a.store().invalidate_user(&user.id).await.unwrap();
    tokio::time::sleep(BOUND).await;
    let misses = b_store.stats().misses;
    assert!(reader.read_token(&token, a.users()).await.unwrap().is_some());
    assert_eq!(b_store.stats().misses, misses + 1, "the user's entry was dropped");
    b_channel.stop().await;
    a.cleanup().await;
}

/// fastapi-users' value format has no creation time: the key's TTL is the expiry. A cache that
/// holds such a token must stop serving it when Redis drops the key, not a lifetime after the
/// cache first read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_in_fastapi_users_format_dies_with_its_key() {
    let Some(a) = CachedRedisBackend::setup(SINGLE.0, SINGLE.1).await else { return };
    let (store, channel) =
        CachedRedisBackend::cache(a.redis.store().with_value_format(ValueFormat::UserIdOnly)).await;
    let lifetime = Duration::from_secs(4);
    let strategy =
        DatabaseStrategy::new(store, Some(lifetime)).unwrap().with_storage_mode(StorageMode::Plain);
    let user = a.create_user(true).await;
    let token = strategy.write_token(&user).await.unwrap().into_secret();
    let written = Instant::now();
    // First read a second in: were the row's time taken as the read's, the cache would keep
    // the token a second past the key's expiry.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hits = strategy.store().stats().hits;
    for _ in 0..2 {
        assert!(strategy.read_token(&token, a.users()).await.unwrap().is_some());
    }
    assert_eq!(strategy.store().stats().hits, hits + 1, "the second read was a hit");
    tokio::time::sleep((written + lifetime + Duration::from_millis(300)) - Instant::now()).await;
    assert!(
        strategy.read_token(&token, a.users()).await.unwrap().is_none(),
        "the cache served a token whose key had expired"
    );
    channel.stop().await;
    a.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_or_stalled_subscription_serves_no_hits_and_recovers() {
    let Some(a) = CachedRedisBackend::setup(SINGLE.0, SINGLE.1).await else { return };
    let url = std::env::var(SINGLE.0).ok().filter(|u| !u.is_empty());
    let url = url.unwrap_or_else(|| SINGLE.1.unwrap().to_owned());
    let server = url::Url::parse(&url).unwrap();
    let upstream = format!("{}:{}", server.host_str().unwrap(), server.port().unwrap_or(6379));
    // Process B reaches Redis (reads and subscription) through a proxy; A goes straight there.
    let proxy = FaultProxy::start(upstream).await;
    let b_inner = RedisStore::<u64>::connect(&proxy.url_for(&url))
        .await
        .unwrap()
        .with_prefix(a.redis.store().prefix())
        .with_timeout(Duration::from_secs(2));
    let b_store = CachedStore::new(b_inner, options()).unwrap();
    let b_channel =
        RedisRevocations::start(b_store.inner(), b_store.revocation_sink()).await.unwrap();
    let b_store = b_store.with_publisher(b_channel.publisher());
    until_serving(&b_store).await;
    let writer = DatabaseStrategy::new(a.store(), HOUR).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), HOUR).unwrap();

    for mode in [Mode::Cut, Mode::Stall] {
        let (user, token) = cached_token(&a, &writer, &reader).await;
        proxy.set(mode);
        // The revocation is published while B cannot hear it.
        assert!(writer.destroy_token(&token, &user).await.unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        while b_store.is_serving() {
            assert!(Instant::now() < deadline, "{mode:?}: still serving hits");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        proxy.set(Mode::Pass);
        until_serving(&b_store).await;
        // Whatever B missed, it flushed on subscribing again.
        let mut attempts = 0;
        let found = loop {
            // The reads' own connection may need a moment to come back after a cut.
            match reader.read_token(&token, a.users()).await {
                Ok(found) => break found,
                Err(error) if attempts == 50 => panic!("{mode:?}: reads never came back: {error}"),
                Err(_) => attempts += 1,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            found.is_none(),
            "{mode:?}: a token revoked while the channel was down was accepted"
        );
    }
    b_channel.stop().await;
    a.cleanup().await;
}

/// A refresh token presented again after the grace window ends its family in one process; the
/// family's access tokens, held by another process's cache, are refused there within the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_ends_its_family_in_the_other_process() {
    use authtoken::ManualClock;
    use authtoken::refresh::{RefreshPolicy, RefreshRefusal, RefreshStrategy, Refreshed};
    use authtoken_redis::RedisRefreshStore;

    let Some(a) = CachedRedisBackend::setup(SINGLE.0, SINGLE.1).await else { return };
    let (b_store, b_channel) = CachedRedisBackend::cache(a.redis.store()).await;
    let clock = ManualClock::new(chrono::Utc::now());
    let fifteen_minutes = Some(Duration::from_secs(900));
    let access =
        DatabaseStrategy::new(a.store(), fifteen_minutes).unwrap().with_clock(clock.clone());
    let policy = RefreshPolicy::default();
    let refresh = RedisRefreshStore::new(&a.redis.store(), policy.max_age());
    let tokens = RefreshStrategy::new(access, refresh, policy).unwrap();
    let reader = DatabaseStrategy::new(b_store.clone(), fifteen_minutes).unwrap();

    let user = a.create_user(true).await;
    let login = tokens.login(&user).await.unwrap();
    let Refreshed::Rotated(next) =
        tokens.refresh(login.refresh_token.expose_secret()).await.unwrap()
    else {
        panic!("a fresh refresh token rotates")
    };
    let hits = b_store.stats().hits;
    for pair in [&login, &next] {
        for _ in 0..2 {
            let found = reader.read_token(pair.access_token.expose_secret(), a.users()).await;
            assert!(found.unwrap().is_some(), "a fresh access token was refused");
        }
    }
    assert_eq!(b_store.stats().hits, hits + 2, "the other process serves both from its cache");

    clock.advance(chrono::TimeDelta::seconds(6));
    let stolen = tokens.refresh(login.refresh_token.expose_secret()).await.unwrap();
    assert!(matches!(stolen, Refreshed::Refused(RefreshRefusal::Reused)), "{stolen:?}");
    for pair in [&login, &next] {
        refused_after_the_bound(&reader, &a, pair.access_token.expose_secret(), "reuse").await;
    }
    b_channel.stop().await;
    a.cleanup().await;
}
