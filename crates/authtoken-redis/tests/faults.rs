//! Redis goes away: a proxy between the store and Redis (or every node of a cluster) cuts or
//! stalls every connection. Calls fail with `Err` within a bound, never "not authenticated" and
//! never a user; the same store recovers when traffic flows again.

mod common;

use std::time::Duration;

use authtoken_redis::RedisStore;
use authtoken_tests::outage::outages_are_errors_and_the_store_recovers;
use authtoken_tests::proxy::FaultProxy;
use authtoken_tests::redis_cluster::ProxiedCluster;

/// The store's call timeout.
const CALL: Duration = Duration::from_secs(2);
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
        .with_prefix(authtoken_conformance::Backend::store(&direct).prefix())
        .with_timeout(CALL);
    outages_are_errors_and_the_store_recovers(store, 1u64, |mode| proxy.set(mode), RECOVERY).await;
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
    outages_are_errors_and_the_store_recovers(store, 1u64, |mode| cluster.set(mode), RECOVERY)
        .await;
}
