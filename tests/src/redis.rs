//! The Redis backends: `RedisStore` with a key prefix of its own per test, on one Redis
//! (`AUTHTOKEN_TEST_REDIS_URL`, default the local one) or a Redis Cluster
//! (`AUTHTOKEN_TEST_REDIS_CLUSTER_URL`, `redis+cluster://host:port,…`), deleting its keys at the end.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Backend;
use crate::cached::{options, until_serving};
use crate::memory::{MemoryBackend, MemoryUser, MemoryUsers};
use authtoken::cache::CachedStore;
use authtoken_redis::{RedisRefreshStore, RedisRevocations, RedisStore};

/// A fresh key prefix on one Redis or a cluster, with users in memory; its keys are deleted at
/// the end, node by node (SCAN sees one node).
pub type RedisBackend = MemoryBackend<u64, RedisStore<u64>>;

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The URL in `variable`, else `default`; `None` (with a notice) outside CI when there is none or
/// nothing answers. In CI a missing Redis fails.
pub async fn setup(variable: &str, default: Option<&str>) -> Option<RedisBackend> {
    let url = std::env::var(variable).ok().filter(|u| !u.is_empty()).or(default.map(str::to_owned));
    let in_ci = std::env::var_os("CI").is_some();
    let Some(url) = url else {
        assert!(!in_ci, "{variable} is not set: CI must run every backend");
        let _ = writeln!(std::io::stderr(), "SKIPPED: {variable} is not set");
        return None;
    };
    let prefix = format!("authtoken-test:{}:", uuid::Uuid::new_v4().simple());
    let store = match RedisStore::connect(&url).await {
        Ok(store) => store.with_prefix(&prefix),
        Err(error) if !in_ci => {
            let _ = writeln!(std::io::stderr(), "SKIPPED: no Redis at {url}: {error}");
            return None;
        }
        Err(error) => panic!("connecting to {url}: {error}"),
    };
    let nodes: Vec<String> = match url.strip_prefix("redis+cluster://") {
        Some(nodes) => nodes.split(',').map(|n| format!("redis://{n}")).collect(),
        None => vec![url.clone()],
    };
    let cleanup = || async move {
        for node in &nodes {
            delete_keys_under(node, &prefix).await;
        }
    };
    Some(MemoryBackend::with_store(store, next_id).with_cleanup(cleanup))
}

/// Like [`setup`], with the store keeping the API-token fields ([`RedisStore::with_details`]).
pub async fn setup_with_details(variable: &str, default: Option<&str>) -> Option<RedisBackend> {
    Some(setup(variable, default).await?.map_store(RedisStore::with_details))
}

/// [`RedisBackend`] with its refresh tokens in Redis too ([`RedisRefreshStore`], families living
/// three hours): what the `refresh` group runs on.
pub struct RedisRefreshBackend(RedisBackend);

/// Like [`setup`], for the `refresh` group.
pub async fn setup_with_refresh(
    variable: &str,
    default: Option<&str>,
) -> Option<RedisRefreshBackend> {
    Some(RedisRefreshBackend(setup(variable, default).await?))
}

impl Backend for RedisRefreshBackend {
    type User = MemoryUser<u64>;
    type Store = RedisStore<u64>;
    type Users = MemoryUsers<MemoryUser<u64>>;

    fn store(&self) -> Self::Store {
        self.0.store()
    }

    fn users(&self) -> &Self::Users {
        self.0.users()
    }

    async fn create_user(&self, active: bool) -> MemoryUser<u64> {
        self.0.create_user(active).await
    }

    async fn delete_user(&self, user: &MemoryUser<u64>) {
        self.0.delete_user(user).await;
    }

    fn is_active(user: &MemoryUser<u64>) -> bool {
        user.is_active
    }

    async fn cleanup(self) {
        self.0.cleanup().await
    }
}

impl authtoken_conformance::RefreshBackend for RedisRefreshBackend {
    type Refresh = RedisRefreshStore<u64>;

    fn refresh_store(&self) -> Self::Refresh {
        RedisRefreshStore::new(&self.0.store(), std::time::Duration::from_secs(3 * 3600))
    }
}

/// Whether a Redis answers at `url` (one server or `redis+cluster://…`): `Some(())` if so; `None`
/// with a notice outside CI; a failure in CI.
pub async fn setup_url(url: &str) -> Option<()> {
    match RedisStore::<u64>::connect(url).await {
        Ok(_) => Some(()),
        Err(error) if std::env::var_os("CI").is_none() => {
            let _ = writeln!(std::io::stderr(), "SKIPPED: no Redis at {url}: {error}");
            None
        }
        Err(error) => panic!("connecting to {url}: {error}"),
    }
}

/// Deletes every key under `prefix` on the Redis node at `url` (SCAN sees one node).
pub async fn delete_keys_under(url: &str, prefix: &str) {
    let client = redis::Client::open(url).expect("a node URL");
    let mut connection = client.get_multiplexed_async_connection().await.expect("a node");
    let pattern = format!("{prefix}*");
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .expect("SCAN");
        // One key a DEL: a cluster node refuses keys of several slots in one command.
        for key in keys {
            let _: i64 =
                redis::cmd("DEL").arg(&key).query_async(&mut connection).await.expect("DEL");
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
}

/// `RedisStore` behind a cache kept current by [`RedisRevocations`] (pub/sub, every primary).
pub struct CachedRedisBackend {
    /// The uncached backend (its prefix, users and plain store).
    pub redis: RedisBackend,
    store: CachedStore<RedisStore<u64>>,
    channel: RedisRevocations,
}

impl CachedRedisBackend {
    /// A fresh prefix on the Redis in `variable` (see [`setup`]) and a cache that is serving.
    pub async fn setup(variable: &str, default: Option<&str>) -> Option<Self> {
        let redis = setup(variable, default).await?;
        let (store, channel) = Self::cache(redis.store()).await;
        Some(Self { redis, store, channel })
    }

    /// Another process's view: a cache of its own over `store`, with its own channel, already
    /// serving.
    pub async fn cache(store: RedisStore<u64>) -> (CachedStore<RedisStore<u64>>, RedisRevocations) {
        let cached = CachedStore::new(store, options()).expect("valid cache options");
        let channel = RedisRevocations::start(cached.inner(), cached.revocation_sink())
            .await
            .expect("the revocation channel");
        let cached = cached.with_publisher(channel.publisher());
        until_serving(&cached).await;
        (cached, channel)
    }
}

impl Backend for CachedRedisBackend {
    type User = MemoryUser<u64>;
    type Store = CachedStore<RedisStore<u64>>;
    type Users = MemoryUsers<MemoryUser<u64>>;

    fn store(&self) -> Self::Store {
        self.store.clone()
    }

    fn users(&self) -> &Self::Users {
        self.redis.users()
    }

    async fn create_user(&self, active: bool) -> MemoryUser<u64> {
        self.redis.create_user(active).await
    }

    async fn delete_user(&self, user: &MemoryUser<u64>) {
        // Every process hears of the deleted tokens; this one drops the user's entries at once,
        // as an application deleting a user does.
        self.redis.delete_user(user).await;
        self.store.invalidate_user(&user.id).await.expect("invalidating the user");
    }

    fn is_active(user: &MemoryUser<u64>) -> bool {
        user.is_active
    }

    async fn cleanup(self) {
        self.channel.stop().await;
        self.redis.cleanup().await
    }
}
