//! The run on Redis (one server or a cluster): each operation beside the bare command it stands
//! on, sent through the same client (redis-rs) on a connection of the same kind. A read is one
//! `GET` (floor: a bare `GET` of an existing key); a login is a `SET NX PX` and an index update
//! (floor: a bare `SET PX`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, ensure};
use authtoken::DatabaseStrategy;
use authtoken_redis::RedisStore;
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;

use crate::args::Args;
use crate::measure::{Measurement, measure};
use crate::schema::user;
use crate::store_ops::{IdUsers, TokenOps};

/// How long every key the run writes lives, should the run stop before it cleans up.
const KEY_LIFETIME: Duration = Duration::from_secs(3600);

/// The floor's own connection: the same client and connection kind as the store's.
#[derive(Clone)]
enum Floor {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Floor {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(match url.strip_prefix("redis+cluster://") {
            Some(nodes) => {
                let nodes: Vec<String> = nodes.split(',').map(|n| format!("redis://{n}")).collect();
                let client = redis::cluster::ClusterClient::new(nodes)?;
                Floor::Cluster(client.get_async_connection().await?)
            }
            None => Floor::Single(redis::Client::open(url)?.get_connection_manager().await?),
        })
    }

    async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> anyhow::Result<T> {
        Ok(match self.clone() {
            Floor::Single(mut c) => command.query_async(&mut c).await?,
            Floor::Cluster(mut c) => command.query_async(&mut c).await?,
        })
    }
}

/// The strategy, the floor's connection, and the run's key prefix.
#[derive(Clone)]
struct RedisBench {
    strategy: Arc<DatabaseStrategy<RedisStore<i64>>>,
    floor: Floor,
    prefix: Arc<str>,
    users: usize,
}

impl RedisBench {
    fn user(&self, i: usize) -> user::Model {
        crate::store_ops::user(i, self.users)
    }

    fn floor_key(&self, i: usize) -> String {
        format!("{}floor:{i}", self.prefix)
    }

    fn token_ops(&self) -> TokenOps<RedisStore<i64>> {
        TokenOps { strategy: Arc::clone(&self.strategy), users: self.users }
    }

    async fn floor_set(&self, i: usize) -> anyhow::Result<()> {
        let mut set = redis::cmd("SET");
        set.arg(self.floor_key(i)).arg(format!("0:{}", self.user(i).id));
        set.arg("PX").arg(KEY_LIFETIME.as_millis() as u64);
        let _: () = self.floor.query(&set).await?;
        Ok(())
    }

    /// Runs `op` as measurement `name`.
    async fn measure<F, Fut>(
        &self,
        name: &str,
        concurrency: usize,
        ops: usize,
        op: F,
    ) -> anyhow::Result<Measurement>
    where
        F: Fn(RedisBench, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send,
    {
        let bench = self.clone();
        measure(name, concurrency, ops, move |i| op(bench.clone(), i)).await
    }

    /// Every measurement at one concurrency level.
    async fn level(&self, concurrency: usize, ops: usize) -> anyhow::Result<Vec<Measurement>> {
        let tokens = self.token_ops().issue(ops).await?;
        for i in 0..ops {
            self.floor_set(i).await?;
        }
        // Warm up both paths alike.
        for (i, token) in tokens.iter().enumerate() {
            self.strategy.read_token(token, &IdUsers).await?;
            let _: Option<String> =
                self.floor.query(redis::cmd("GET").arg(self.floor_key(i))).await?;
        }
        let mut results = Vec::new();
        results.push(
            self.measure("floor_get", concurrency, ops, |b, i| async move {
                let found: Option<String> =
                    b.floor.query(redis::cmd("GET").arg(b.floor_key(i))).await?;
                ensure!(found.is_some(), "the floor missed a key");
                Ok(())
            })
            .await?,
        );
        results.extend(self.token_ops().reads(concurrency, &tokens).await?);
        results.push(self.read_token_cached(concurrency, Arc::clone(&tokens)).await?);
        results.push(
            self.measure("floor_set", concurrency, ops, |b, i| async move { b.floor_set(i).await })
                .await?,
        );
        results.extend(self.token_ops().writes(concurrency, &tokens).await?);
        self.clean_up(ops).await?;
        Ok(results)
    }

    /// The hit path: the same tokens through a cache kept current by pub/sub, read once
    /// untimed (the fill), then timed.
    async fn read_token_cached(
        &self,
        concurrency: usize,
        tokens: Arc<Vec<String>>,
    ) -> anyhow::Result<Measurement> {
        let (store, channel) =
            crate::cached::redis_cached_store(self.strategy.store().clone()).await?;
        let strategy = Arc::new(DatabaseStrategy::new(store.clone(), Some(KEY_LIFETIME))?);
        for token in tokens.iter() {
            strategy.read_token(token, &IdUsers).await?;
        }
        let before = store.stats();
        let bench = self.clone();
        let measured = measure("read_token_cached", concurrency, tokens.len(), move |i| {
            let (strategy, token, bench) =
                (Arc::clone(&strategy), tokens[i].clone(), bench.clone());
            async move {
                let found = strategy.read_token(&token, &IdUsers).await?;
                let found = found.ok_or_else(|| anyhow!("a valid token was refused"))?;
                ensure!(found.0.id == bench.user(i).id, "the wrong user");
                Ok(())
            }
        })
        .await?;
        ensure!(store.stats().misses == before.misses, "the cached reads went to Redis");
        channel.stop().await;
        Ok(measured)
    }

    /// Deletes what the level wrote: every user's tokens (through the index, which reaches
    /// every node of a cluster) and the floor's keys.
    async fn clean_up(&self, floor_keys: usize) -> anyhow::Result<()> {
        for i in 0..self.users {
            self.strategy.destroy_all_tokens(&self.user(i)).await?;
        }
        for i in 0..floor_keys {
            let _: i64 = self.floor.query(redis::cmd("DEL").arg(self.floor_key(i))).await?;
        }
        Ok(())
    }
}

/// The whole run on the Redis at `args.database_url`, under a key prefix of its own.
pub async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    anyhow::ensure!(
        args.tokens == 0 && args.purge_rows == 0,
        "--tokens and --purge-rows measure SQL tables; Redis has no table to fill or purge"
    );
    let url = &args.database_url;
    let prefix = format!("authtoken-bench:{}:", uuid::Uuid::new_v4().simple());
    eprintln!("benchmarking under key prefix {prefix} (deleted at the end)");
    let store = RedisStore::<i64>::connect(url).await?.with_prefix(&prefix);
    let bench = RedisBench {
        strategy: Arc::new(DatabaseStrategy::new(store, Some(KEY_LIFETIME))?),
        floor: Floor::connect(url).await?,
        prefix: Arc::from(prefix),
        users: args.users,
    };
    let mut results = Vec::new();
    for &concurrency in &args.concurrency {
        eprintln!("concurrency {concurrency}");
        results.extend(bench.level(concurrency, args.ops).await?);
    }
    if args.revocations > 0 {
        eprintln!("revocation propagation to a second process, {} times", args.revocations);
        let peer = [url.as_str(), &*bench.prefix];
        let store = bench.strategy.store().clone();
        let propagation = crate::cached::propagation_idle_and_loaded(
            || DatabaseStrategy::new(store.clone(), Some(KEY_LIFETIME)),
            &peer,
            args.users,
            args.revocations,
        );
        results.extend(propagation.await?);
        bench.clean_up(0).await?;
    }
    Ok(results)
}
