//! Redis goes away: a proxy between the store and Redis (or every node of a cluster) cuts or
//! stalls every connection. Calls fail with `Err` within a bound, never "not authenticated" and
//! never a user; the same store recovers when traffic flows again.

mod common;

use std::time::{Duration, Instant};

use authtoken::memory::MemoryUsers;
use authtoken::{DatabaseStrategy, Error};
use authtoken_conformance::memory::MemoryUser;
use authtoken_redis::RedisStore;
use authtoken_tests::proxy::{FaultProxy, Mode};
use authtoken_tests::redis_cluster::ProxiedCluster;

/// The store's call timeout, and the bound every failing call must stay within (slack for a
/// loaded machine and the reconnect).
const CALL: Duration = Duration::from_secs(2);
const BOUND: Duration = Duration::from_secs(8);
/// How long the client may take to reconnect once traffic flows again (a cluster client
/// rediscovers its nodes with back-off).
const RECOVERY: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outages_are_errors_and_the_store_recovers() {
    let Some(direct) =
        common::setup("AUTHTOKEN_TEST_REDIS_URL", Some("redis://127.0.0.1:6379")).await
    else {
        return;
    };
    let url = std::env::var("AUTHTOKEN_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let parsed = url::Url::parse(&url).expect("a Redis URL");
    let upstream =
        format!("{}:{}", parsed.host_str().unwrap_or("127.0.0.1"), parsed.port().unwrap_or(6379));
    let proxy = FaultProxy::start(upstream).await;
    let store = RedisStore::<u64>::connect(&proxy.url_for(&url))
        .await
        .expect("connecting through the proxy")
        .with_prefix(direct.prefix())
        .with_timeout(CALL);
    outages_are_errors_and_the_store_recovers(store, |mode| proxy.set(mode)).await;
    authtoken_conformance::Backend::cleanup(direct).await;
}

/// The same on a cluster of the test's own whose every node sits behind a proxy: the client
/// discovers the nodes through the proxies and loses them all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_outages_are_errors_and_the_store_recovers() {
    let Some(cluster) = ProxiedCluster::start().await else { return };
    let store = RedisStore::<u64>::connect(&cluster.url())
        .await
        .expect("connecting to the cluster through its proxies")
        .with_timeout(CALL);
    outages_are_errors_and_the_store_recovers(store, |mode| cluster.set(mode)).await;
}

async fn outages_are_errors_and_the_store_recovers(
    store: RedisStore<u64>,
    set_mode: impl Fn(Mode),
) {
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600))).unwrap();
    let users = MemoryUsers::new();
    let alice = MemoryUser { id: 1u64, is_active: true };
    users.insert(alice.clone());
    let token = strategy.write_token(&alice).await.unwrap().into_secret();

    for mode in [Mode::Cut, Mode::Stall] {
        set_mode(mode);
        let started = Instant::now();
        let read = strategy.read_token(Some(&token), &users).await;
        assert!(matches!(read, Err(Error::Store(_))), "{mode:?}: read gave {read:?}");
        assert!(started.elapsed() < BOUND, "{mode:?}: read took {:?}", started.elapsed());
        let login = strategy.write_token(&alice).await;
        assert!(matches!(login, Err(Error::Store(_))), "{mode:?}: login gave {login:?}");
        if mode == Mode::Cut {
            // Only while cut: a command sent into a stalled connection is already on its way and
            // runs when traffic flows again (its caller got an error and must not assume either
            // outcome), so a stalled logout would revoke the token this test reads afterwards.
            assert!(matches!(strategy.destroy_token(&token, &alice).await, Err(Error::Store(_))));
            assert!(matches!(strategy.destroy_all_tokens(&alice).await, Err(Error::Store(_))));
        }
        assert!(started.elapsed() < BOUND * 2, "{mode:?}: the calls took {:?}", started.elapsed());

        set_mode(Mode::Pass);
        // The client reconnects in the background: the first calls may still fail.
        let deadline = Instant::now() + RECOVERY;
        let recovered = loop {
            match strategy.read_token(Some(&token), &users).await {
                Ok(found) => break found,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(error) => panic!("{mode:?}: no recovery: {error}"),
            }
        };
        assert_eq!(recovered.map(|u| u.id), Some(1), "{mode:?}: the token was lost");
    }
}
