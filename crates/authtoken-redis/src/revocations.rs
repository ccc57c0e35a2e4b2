//! [`RedisRevocations`]: the cache's revocation channel on Redis pub/sub.
//!
//! Every delete is announced by the script that deletes (see
//! [`RedisStore::revocation_channel`]), on the primary that holds the key. A subscriber hears a
//! primary's messages in the order that primary published them, but hears another primary's
//! (relayed over the cluster bus) in no promised order. So the channel subscribes to every
//! primary directly and proves itself current per primary: it publishes a numbered heartbeat on
//! each primary and, when that primary's subscription hears it back, every revocation that
//! primary published before it has been applied. The cache is current up to the oldest of those
//! proofs. Losing any subscription withdraws the proof (no hits) until all are back and proven.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authtoken::cache::{Revocation, RevocationPublisher, RevocationSink};
use authtoken::{Error, Result};
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::store::{RedisStore, Source};

/// How often the primaries are listed again, to follow a failover or a resharding.
const TOPOLOGY_CHECK: Duration = Duration::from_secs(5);

/// Listens for revocations on the store's Redis (every primary of a cluster) and proves the cache
/// current with heartbeats; stops when dropped. Per primary it holds two connections of its own
/// (a subscription and one for heartbeats); user-wide revocations are published through the
/// store's connection.
///
/// ```no_run
/// use std::time::Duration;
/// use authtoken::DatabaseStrategy;
/// use authtoken::cache::{CacheOptions, CachedStore};
/// use authtoken_redis::{RedisRevocations, RedisStore};
///
/// # async fn run() -> authtoken::Result<()> {
/// let store = RedisStore::<u64>::connect("redis://127.0.0.1:6379").await?;
/// let cached = CachedStore::new(store, CacheOptions::default())?;
/// let revocations = RedisRevocations::start(cached.inner(), cached.revocation_sink()).await?;
/// let cached = cached.with_publisher(revocations.publisher());
/// let strategy = DatabaseStrategy::new(cached, Some(Duration::from_secs(3600)))?;
/// // Keep `revocations` alive as long as the strategy: dropping it stops the cache's hits.
/// # Ok(()) }
/// ```
pub struct RedisRevocations {
    publisher: Arc<RedisPublisher>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRevocations").field("channel", &self.publisher.channel).finish()
    }
}

impl RedisRevocations {
    /// Starts listening on `store`'s [`revocation_channel`](RedisStore::revocation_channel), on
    /// the server or on every primary of the cluster the store is connected to. Returns at once:
    /// the cache serves hits once every subscription has proved itself current.
    pub async fn start<Id>(store: &RedisStore<Id>, sink: RevocationSink) -> Result<Self>
    where
        Id: Send + Sync + 'static,
    {
        let channel = store.revocation_channel();
        let bound = sink.staleness_bound();
        // Four heartbeats per bound: one late or lost still leaves the proof fresh.
        let interval = (bound / 4).max(Duration::from_millis(1));
        let listener = Listener {
            primaries: Primaries { source: Arc::clone(&store.source), store: store.erased() },
            sink,
            channel: channel.clone(),
            ping_channel: format!("{}ping:{}", store.prefix(), unique_suffix()),
            interval,
            // Heartbeats come back every interval: this much silence means a dead connection.
            silence: bound.max(interval * 4),
            bound,
        };
        let task = tokio::spawn(listener.run());
        let publisher = Arc::new(RedisPublisher { store: store.erased(), channel });
        Ok(Self { publisher, task })
    }

    /// Publishes user-wide revocations ([`CachedStore::invalidate_user`], log out everywhere) to
    /// every other process; token deletes are announced by the deleting script.
    ///
    /// [`CachedStore::invalidate_user`]: authtoken::cache::CachedStore::invalidate_user
    pub fn publisher(&self) -> Arc<dyn RevocationPublisher> {
        Arc::clone(&self.publisher) as Arc<dyn RevocationPublisher>
    }

    /// Stops listening and closes the channel's connections.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for RedisRevocations {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A name no other process's heartbeat channel has.
fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{}-{:016x}", std::process::id(), hasher.finish())
}

/// Finds the primaries to subscribe to.
struct Primaries {
    source: Arc<Source>,
    store: RedisStore<()>,
}

impl Primaries {
    /// The URL of each primary (the server itself when it is not a cluster), sorted.
    async fn list(&self) -> Result<Vec<String>> {
        match &*self.source {
            Source::Single(url) => Ok(vec![url.clone()]),
            Source::Cluster(cluster) => {
                let nodes: String =
                    self.store.query_on_primary(redis::cmd("CLUSTER").arg("NODES")).await?;
                let mut primaries: Vec<String> =
                    primaries_of(&nodes).iter().map(|address| cluster.url_of(address)).collect();
                primaries.sort();
                if primaries.is_empty() {
                    return Err(Error::store("the cluster lists no primary serving slots"));
                }
                Ok(primaries)
            }
        }
    }
}

/// The `host:port` of every primary that serves slots, from `CLUSTER NODES` output.
fn primaries_of(nodes: &str) -> Vec<String> {
    nodes
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = fields.get(2)?;
            let serving = fields.len() > 8;
            let healthy = !flags.contains("fail") && !flags.contains("noaddr");
            if !(flags.split(',').any(|f| f == "master") && serving && healthy) {
                return None;
            }
            let address = fields.get(1)?.split(['@', ',']).next()?;
            Some(address.to_owned())
        })
        .collect()
}

struct Listener {
    primaries: Primaries,
    sink: RevocationSink,
    channel: String,
    ping_channel: String,
    interval: Duration,
    silence: Duration,
    bound: Duration,
}

impl Listener {
    async fn run(self) {
        loop {
            self.sink.withdraw();
            let listing = tokio::time::timeout(self.silence, self.primaries.list()).await;
            let primaries = match listing.unwrap_or_else(|_| Err(Error::store("timed out"))) {
                Ok(primaries) => primaries,
                Err(error) => {
                    tracing::warn!(%error, "authtoken: cannot find the Redis primaries; the cache serves no hits");
                    tokio::time::sleep(self.silence / 4).await;
                    continue;
                }
            };
            let mut subscriptions = Vec::with_capacity(primaries.len());
            for url in &primaries {
                // A stalled server must not hold the channel here: give up after the silence
                // limit and try again.
                let opening = Subscription::open(url, &self.channel, &self.ping_channel);
                let opened =
                    tokio::time::timeout(self.silence, opening).await.unwrap_or_else(|_| {
                        Err(redis::RedisError::from(std::io::Error::from(
                            std::io::ErrorKind::TimedOut,
                        )))
                    });
                match opened {
                    Ok(subscription) => subscriptions.push(subscription),
                    Err(error) => {
                        tracing::warn!(%error, "authtoken: cannot subscribe to revocations; the cache serves no hits");
                        break;
                    }
                }
            }
            if subscriptions.len() < primaries.len() {
                tokio::time::sleep(self.silence / 4).await;
                continue;
            }
            // Whatever was sent while we were not listening is lost: start from nothing.
            self.sink.resubscribed();
            let proofs = Proofs::new(primaries.len(), self.sink.clone());
            let runs = subscriptions.into_iter().enumerate().map(|(index, subscription)| {
                Box::pin(subscription.run(index, &proofs, &self.sink, &self))
            });
            tokio::select! {
                _ = futures_util::future::select_all(runs) => {}
                _ = self.topology_changes(&primaries) => {
                    tracing::info!("authtoken: the Redis primaries changed; subscribing again");
                }
            }
        }
    }

    /// Returns when the primaries are no longer `current`.
    async fn topology_changes(&self, current: &[String]) {
        if let Source::Single(_) = &*self.primaries.source {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(TOPOLOGY_CHECK).await;
            if let Ok(Ok(now)) = tokio::time::timeout(self.silence, self.primaries.list()).await
                && now != current
            {
                return;
            }
        }
    }
}

/// The newest proof from each primary; the cache is current up to the oldest.
struct Proofs {
    latest: Mutex<Vec<Option<Instant>>>,
    sink: RevocationSink,
}

impl Proofs {
    fn new(primaries: usize, sink: RevocationSink) -> Self {
        Self { latest: Mutex::new(vec![None; primaries]), sink }
    }

    fn proven(&self, primary: usize, sent: Instant) {
        let oldest = {
            let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
            latest[primary] = Some(sent);
            latest
                .iter()
                .copied()
                .collect::<Option<Vec<Instant>>>()
                .and_then(|all| all.into_iter().min())
        };
        if let Some(oldest) = oldest {
            self.sink.caught_up_to(oldest);
        }
    }
}

/// One primary: its subscription and a connection for heartbeats.
struct Subscription {
    messages: redis::aio::PubSubStream,
    heartbeats: redis::aio::MultiplexedConnection,
}

impl Subscription {
    async fn open(url: &str, channel: &str, ping_channel: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        pubsub.subscribe(ping_channel).await?;
        let heartbeats = client.get_multiplexed_async_connection().await?;
        Ok(Self { messages: pubsub.into_on_message(), heartbeats })
    }

    /// Applies revocations and proves this primary current until the subscription fails or
    /// falls silent (none of its own heartbeats back for the silence limit: a stalled
    /// connection is given up and replaced).
    async fn run(
        mut self,
        index: usize,
        proofs: &Proofs,
        sink: &RevocationSink,
        listener: &Listener,
    ) {
        let mut ticks = tokio::time::interval(listener.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Heartbeats in flight: sequence number and when each was sent.
        let mut pending: VecDeque<(u64, Instant)> = VecDeque::new();
        let mut sequence = 0u64;
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                message = self.messages.next() => {
                    let Some(message) = message else {
                        tracing::warn!("authtoken: revocation subscription lost; subscribing again");
                        return;
                    };
                    let Ok(payload) = message.get_payload::<String>() else { continue };
                    if message.get_channel_name() == listener.ping_channel {
                        // Only this primary's own heartbeats prove its order; others' arrive
                        // relayed over the cluster bus.
                        let Some(sequence) = own_heartbeat(&payload, index) else { continue };
                        last_heard = Instant::now();
                        let sent = pending.iter().find(|(s, _)| *s == sequence).map(|(_, at)| *at);
                        pending.retain(|(s, _)| *s > sequence);
                        if let Some(sent) = sent {
                            proofs.proven(index, sent);
                        }
                    } else if let Some(revocation) = Revocation::from_message(&payload) {
                        sink.apply(&revocation).await;
                    }
                }
                _ = ticks.tick() => {
                    if last_heard.elapsed() > listener.silence {
                        tracing::warn!("authtoken: revocation subscription silent; subscribing again");
                        return;
                    }
                    sequence += 1;
                    let sent = Instant::now();
                    // A heartbeat older than the bound proves nothing any more.
                    pending.retain(|(_, at)| sent.duration_since(*at) <= listener.bound);
                    pending.push_back((sequence, sent));
                    let mut ping = redis::cmd("PUBLISH");
                    ping.arg(&listener.ping_channel).arg(format!("{index}:{sequence}"));
                    let ping = ping.query_async::<i64>(&mut self.heartbeats);
                    if let Ok(Err(error)) = tokio::time::timeout(listener.interval, ping).await {
                        tracing::debug!(%error, "authtoken: heartbeat not sent");
                    }
                }
            }
        }
    }
}

/// The sequence number of a heartbeat this process sent through primary `index`.
fn own_heartbeat(payload: &str, index: usize) -> Option<u64> {
    let (primary, sequence) = payload.split_once(':')?;
    (primary.parse::<usize>().ok()? == index).then(|| sequence.parse().ok()).flatten()
}

/// Publishes user-wide and flush-everything revocations through a primary; token deletes need
/// nothing (the deleting script announces them).
struct RedisPublisher {
    store: RedisStore<()>,
    channel: String,
}

#[async_trait::async_trait]
impl RevocationPublisher for RedisPublisher {
    async fn publish(&self, revocation: Revocation) -> Result<()> {
        if let Revocation::Tokens(_) = revocation {
            return Ok(());
        }
        let publish = redis::cmd("PUBLISH").arg(&self.channel).arg(revocation.to_message()).clone();
        self.store.query_on_primary::<i64>(&publish).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primaries_are_the_serving_masters() {
        let nodes = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-a slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 master,fail - 0 1426238316232 5 connected 1-2
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006 master - 0 1426238317741 6 connected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460
";
        assert_eq!(primaries_of(nodes), ["127.0.0.1:30002", "127.0.0.1:30003", "127.0.0.1:30001"]);
    }

    #[test]
    fn only_this_primarys_heartbeats_count() {
        assert_eq!(own_heartbeat("2:17", 2), Some(17));
        assert_eq!(own_heartbeat("1:17", 2), None);
        assert_eq!(own_heartbeat("garbage", 2), None);
    }
}
