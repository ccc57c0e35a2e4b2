//! [`PgRevocations`]: the cache's revocation channel on PostgreSQL LISTEN/NOTIFY.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authtoken::cache::{Revocation, RevocationPublisher, RevocationSink};
use authtoken::{Error, Result};
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::task::JoinHandle;

/// The channel the trigger of `token_table` notifies unless told otherwise:
/// `{token_table}_revocations` (a dot of `schema.table` read as `_`), the same name
/// `authtoken_migration::CreateRevocationTrigger` derives. One per table, so that two deployments
/// sharing a server do not hear (or flood) each other.
///
/// Who may publish: PostgreSQL lets any role that can connect to the database `NOTIFY` any
/// channel, and a forged `*` empties every cache (reads then go to the database: slower, never
/// wrong). Keep `CONNECT` on the database to the application's roles.
///
/// ```
/// assert_eq!(authtoken_sea_orm::revocations::default_channel("access_token"), "access_token_revocations");
/// ```
pub fn default_channel(token_table: &str) -> String {
    let mut channel = format!("{}_revocations", token_table.replace('.', "_"));
    // PostgreSQL identifiers are at most 63 bytes (`pg_notify` refuses a longer channel): both
    // sides cut the same way.
    let mut end = channel.len().min(63);
    while !channel.is_char_boundary(end) {
        end -= 1;
    }
    channel.truncate(end);
    channel
}

/// Heartbeats in flight: sequence number and when each was sent.
pub(super) type Pending = Arc<Mutex<VecDeque<(u64, Instant)>>>;

/// When the heartbeat `payload` (its sequence number) was sent, if it is still in flight; it and
/// every older one leave `pending`.
pub(super) fn heartbeat_arrived(pending: &Pending, payload: &str) -> Option<Instant> {
    let sequence = payload.parse::<u64>().ok()?;
    let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
    let sent = pending.iter().find(|(s, _)| *s == sequence).map(|(_, at)| *at);
    pending.retain(|(s, _)| *s > sequence);
    sent
}

/// Listens for revocations on PostgreSQL and proves the cache current with heartbeats; stops
/// when dropped. It holds two connections of its own (one listening, one for heartbeats and
/// published revocations), made with the application pool's settings.
///
/// A heartbeat proves the channel is open, not that anything announces on it: so at start,
/// after every reconnect and every few seconds the channel also proves it is wired, by finding
/// in the catalog the token table's enabled `DELETE` and `TRUNCATE` triggers whose function
/// notifies the listened channel (what `authtoken_migration::CreateRevocationTrigger` installs).
/// Without them [`start`](Self::start) is an error, and a channel whose trigger goes away
/// (dropped, disabled, or pointed at another channel) stops the cache's hits until it is back.
///
/// ```no_run
/// use std::time::Duration;
/// use authtoken::DatabaseStrategy;
/// use authtoken::cache::{CacheOptions, CachedStore};
/// use authtoken_sea_orm::revocations::PgRevocations;
/// use authtoken_sea_orm::{SeaOrmStore, access_token};
///
/// # async fn run(db: sea_orm::DatabaseConnection) -> authtoken::Result<()> {
/// let cached = CachedStore::new(SeaOrmStore::<access_token::Entity>::new(db.clone()), CacheOptions::default())?;
/// let revocations = PgRevocations::start(&db, cached.revocation_sink(), "access_token").await?;
/// let cached = cached.with_publisher(revocations.publisher());
/// let strategy = DatabaseStrategy::new(cached, Some(Duration::from_secs(3600)))?;
/// // Keep `revocations` alive as long as the strategy: dropping it stops the cache's hits.
/// # Ok(()) }
/// ```
pub struct PgRevocations {
    publisher: Arc<PgPublisher>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for PgRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRevocations").field("channel", &self.publisher.channel).finish()
    }
}

impl PgRevocations {
    /// Starts listening on [`default_channel`] for the deletes of `token_table` (unquoted;
    /// `schema.table` allowed) on `db`'s database; an error if its trigger is not installed.
    pub async fn start(
        db: &DatabaseConnection,
        sink: RevocationSink,
        token_table: &str,
    ) -> Result<Self> {
        Self::start_on(db, sink, token_table, &default_channel(token_table)).await
    }

    /// Starts listening on `channel` (the one the trigger was installed with).
    pub async fn start_on(
        db: &DatabaseConnection,
        sink: RevocationSink,
        token_table: &str,
        channel: &str,
    ) -> Result<Self> {
        let options = db.get_postgres_connection_pool().connect_options();
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with((*options).clone());
        let wiring = Wiring::new(
            pool.clone(),
            TRIGGER_WIRING,
            [
                authtoken_sql::quote(authtoken_sql::Dialect::Postgres, token_table),
                format!("pg_notify('{channel}'"),
            ],
        );
        if !wiring.check().await? {
            return Err(Error::Config(
                "no revocation trigger announces this token table's deletes on the channel: run \
                 authtoken_migration::CreateRevocationTrigger (with the same channel); without \
                 it a cache would keep accepting deleted tokens",
            ));
        }
        let bound = sink.staleness_bound();
        // Four heartbeats per bound: one late or lost still leaves the proof fresh.
        let interval = (bound / 4).max(Duration::from_millis(1));
        let ping_channel = format!("authtoken_ping_{}", uuid::Uuid::new_v4().simple());
        let pending: Pending = Arc::default();
        let listener = Listener {
            pool: pool.clone(),
            wiring: wiring.clone(),
            sink: sink.clone(),
            channel: channel.to_owned(),
            ping_channel: ping_channel.clone(),
            pending: Arc::clone(&pending),
            // Heartbeats come back every interval: this much silence means a dead connection.
            silence: bound.max(interval * 4),
        };
        let heartbeat = Heartbeat {
            pool: pool.clone(),
            send: "SELECT pg_notify($1, $2)",
            ping_channel,
            pending,
            interval,
            bound,
            wiring,
            sink,
        };
        let tasks = vec![tokio::spawn(listener.run()), tokio::spawn(heartbeat.run())];
        let publisher = Arc::new(PgPublisher { pool, channel: channel.to_owned() });
        Ok(Self { publisher, tasks })
    }

    /// Publishes user-wide revocations ([`CachedStore::invalidate_user`], log out everywhere) to
    /// every other process; token deletes are announced by the trigger.
    ///
    /// [`CachedStore::invalidate_user`]: authtoken::cache::CachedStore::invalidate_user
    pub fn publisher(&self) -> Arc<dyn RevocationPublisher> {
        Arc::clone(&self.publisher) as Arc<dyn RevocationPublisher>
    }

    /// Stops listening and closes the channel's connections (dropping it stops the tasks and
    /// lets the connections go in the background).
    pub async fn stop(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = task.await;
        }
        self.publisher.pool.close().await;
    }
}

impl Drop for PgRevocations {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The proof that the channel is wired: a catalog query that answers whether the database
/// announces every delete of the token table on it.
#[derive(Clone)]
pub(super) struct Wiring {
    pool: PgPool,
    /// Answers one boolean, from the two arguments.
    query: &'static str,
    arguments: Arc<[String; 2]>,
    /// The last check's answer; heartbeats prove nothing while it is false.
    wired: Arc<AtomicBool>,
}

/// Whether `$1` (a table) has enabled triggers for `DELETE` and `TRUNCATE` (bits 3 and 5 of
/// `tgtype`) whose functions contain `$2` (`pg_notify('{channel}'`). `tgenabled` `O` or `A`: `D`
/// is disabled, `R` fires only on replicas.
const TRIGGER_WIRING: &str = "SELECT COALESCE(bool_or(t.tgtype & 8 <> 0), false) \
    AND COALESCE(bool_or(t.tgtype & 32 <> 0), false) \
    FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid \
    WHERE t.tgrelid = to_regclass($1) AND NOT t.tgisinternal AND t.tgenabled IN ('O', 'A') \
    AND position($2 in p.prosrc) > 0";

impl Wiring {
    pub(super) fn new(pool: PgPool, query: &'static str, arguments: [String; 2]) -> Self {
        Self {
            pool,
            query,
            arguments: Arc::new(arguments),
            wired: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Reads the catalog and records the answer.
    pub(super) async fn check(&self) -> Result<bool> {
        let [first, second] = &*self.arguments;
        let wired: bool = sea_orm::sqlx::query_scalar(self.query)
            .bind(first)
            .bind(second)
            .fetch_one(&self.pool)
            .await
            .map_err(Error::store)?;
        self.wired.store(wired, Ordering::SeqCst);
        Ok(wired)
    }

    pub(super) fn is_wired(&self) -> bool {
        self.wired.load(Ordering::SeqCst)
    }
}

struct Listener {
    pool: PgPool,
    wiring: Wiring,
    sink: RevocationSink,
    channel: String,
    ping_channel: String,
    pending: Pending,
    silence: Duration,
}

impl Listener {
    async fn subscribe(&self) -> std::result::Result<PgListener, sea_orm::sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen_all([self.channel.as_str(), self.ping_channel.as_str()]).await?;
        Ok(listener)
    }

    async fn run(self) {
        loop {
            self.sink.withdraw();
            let mut listener = match self.subscribe().await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "authtoken: cannot listen for revocations; the cache serves no hits");
                    // Retry soon: until then every read goes to the database.
                    tokio::time::sleep(self.silence / 4).await;
                    continue;
                }
            };
            // The trigger may have gone while we were away: no proof until it is seen again.
            match self.wiring.check().await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(
                        "authtoken: the revocation trigger is missing or disabled; the cache serves no hits"
                    );
                    tokio::time::sleep(self.silence / 4).await;
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "authtoken: cannot check the revocation trigger; the cache serves no hits");
                    tokio::time::sleep(self.silence / 4).await;
                    continue;
                }
            }
            // Whatever was sent while we were not listening is lost: start from nothing.
            self.sink.resubscribed();
            loop {
                match tokio::time::timeout(self.silence, listener.try_recv()).await {
                    Ok(Ok(Some(notification))) => {
                        self.handle(notification.channel(), notification.payload()).await
                    }
                    Ok(Ok(None)) => break,
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "authtoken: revocation channel failed; reconnecting");
                        break;
                    }
                    Err(_) => {
                        tracing::warn!("authtoken: revocation channel silent; reconnecting");
                        break;
                    }
                }
            }
        }
    }

    async fn handle(&self, channel: &str, payload: &str) {
        if channel == self.ping_channel {
            if let Some(sent) = heartbeat_arrived(&self.pending, payload)
                && self.wiring.is_wired()
            {
                self.sink.caught_up_to(sent);
            }
        } else if let Some(revocation) = Revocation::from_message(payload) {
            self.sink.apply(&revocation).await;
        }
    }
}

/// Sends a heartbeat every `interval` down the channel (`send`, given the ping channel and the
/// sequence number) and checks the wiring every few seconds.
pub(super) struct Heartbeat {
    pub(super) pool: PgPool,
    pub(super) send: &'static str,
    pub(super) ping_channel: String,
    pub(super) pending: Pending,
    pub(super) interval: Duration,
    pub(super) bound: Duration,
    pub(super) wiring: Wiring,
    pub(super) sink: RevocationSink,
}

/// How often the heartbeat looks for the trigger again.
const WIRING_RECHECK: Duration = Duration::from_secs(2);

impl Heartbeat {
    pub(super) async fn run(self) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sequence = 0u64;
        let mut checked = Instant::now();
        loop {
            ticks.tick().await;
            if checked.elapsed() >= WIRING_RECHECK || !self.wiring.is_wired() {
                checked = Instant::now();
                let was_wired = self.wiring.is_wired();
                let wired = matches!(self.wiring.check().await, Ok(true));
                if wired && !was_wired {
                    // Deletes went unannounced meanwhile: nothing cached then can be trusted.
                    self.sink.resubscribed();
                }
                if !wired {
                    // Unwired (or unknown): hits stop now, not when the proof runs out.
                    self.wiring.wired.store(false, Ordering::SeqCst);
                    self.sink.withdraw();
                    tracing::warn!(
                        "authtoken: the revocation trigger or publication is gone; the cache serves no hits"
                    );
                    continue;
                }
            }
            sequence += 1;
            let sent = Instant::now();
            {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                // A heartbeat older than the bound proves nothing any more.
                pending.retain(|(_, at)| sent.duration_since(*at) <= self.bound);
                pending.push_back((sequence, sent));
            }
            let sent_ok = sea_orm::sqlx::query(self.send)
                .bind(&self.ping_channel)
                .bind(sequence.to_string())
                .execute(&self.pool)
                .await;
            if let Err(error) = sent_ok {
                tracing::debug!(%error, "authtoken: heartbeat not sent");
            }
        }
    }
}

/// Publishes user-wide and flush-everything revocations as a notification (for the processes on
/// the trigger's channel) and a logical message (for those on the logical one), in one
/// transaction; token deletes need nothing (the trigger notifies, or the stream carries them).
pub(super) struct PgPublisher {
    pub(super) pool: PgPool,
    pub(super) channel: String,
}

#[async_trait::async_trait]
impl RevocationPublisher for PgPublisher {
    async fn publish(&self, revocation: Revocation) -> Result<()> {
        if let Revocation::Tokens(_) = revocation {
            return Ok(());
        }
        // The logical message reaches the processes on the logical channel (which shares the
        // channel's name as its prefix), if any.
        sea_orm::sqlx::query("SELECT pg_notify($1, $2), pg_logical_emit_message(true, $1, $2)")
            .bind(&self.channel)
            .bind(revocation.to_message())
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(Error::store)
    }
}
