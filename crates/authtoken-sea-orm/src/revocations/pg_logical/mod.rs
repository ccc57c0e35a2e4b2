//! [`PgLogicalRevocations`]: the cache's revocation channel on PostgreSQL's logical decoding.

mod pgoutput;
mod session;

use std::sync::Arc;
use std::time::Duration;

use authtoken::cache::{RevocationPublisher, RevocationSink};
use authtoken::{Error, Result};
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::{PgPoolOptions, PgSslMode};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::postgres::{Heartbeat, Pending, PgPublisher, Wiring, default_channel};
use session::Stream;

/// Whether the server decodes its WAL logically (`$1`, `$2` unused there) and the publication
/// `$2` publishes every delete and truncate of the table `$1`, without a row filter, to a stream
/// whose deleted rows carry the `token` column (the table's replica identity includes it: its
/// primary key, an index marked `REPLICA IDENTITY USING INDEX`, or `REPLICA IDENTITY FULL`).
const PUBLICATION_WIRING: &str = "SELECT current_setting('wal_level') = 'logical' \
    AND COALESCE((SELECT p.pubdelete AND p.pubtruncate FROM pg_publication p \
        JOIN pg_publication_tables t ON t.pubname = p.pubname \
        WHERE p.pubname = $2 AND t.rowfilter IS NULL \
        AND format('%I.%I', t.schemaname, t.tablename)::regclass = to_regclass($1) LIMIT 1), false) \
    AND COALESCE((SELECT c.relreplident = 'f' OR EXISTS (SELECT 1 FROM pg_index i \
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
        WHERE i.indrelid = c.oid AND a.attname = 'token' \
        AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident))) \
        FROM pg_class c WHERE c.oid = to_regclass($1)), false)";

/// The table's schema and name, as the stream names it.
const TABLE_NAME: &str = "SELECT n.nspname::text, c.relname::text FROM pg_class c \
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)";

/// Whether `db`'s server can carry the logical channel for `token_table`: `wal_level =
/// logical` and the publication of `authtoken_migration::CreateRevocationPublication` in
/// place. What [`Revocations::start`](super::Revocations::start) asks to choose.
pub(super) async fn publication_wired(db: &DatabaseConnection, token_table: &str) -> Result<bool> {
    sea_orm::sqlx::query_scalar(PUBLICATION_WIRING)
        .bind(authtoken_sql::quote(authtoken_sql::Dialect::Postgres, token_table))
        .bind(default_channel(token_table))
        .fetch_one(db.get_postgres_connection_pool())
        .await
        .map_err(Error::store)
}

/// Listens for revocations in PostgreSQL's write-ahead log, through logical decoding; stops
/// when dropped.
///
/// PostgreSQL's `NOTIFY` (what [`PgRevocations`](super::PgRevocations)'s trigger sends) takes a
/// database-wide lock while the deleting transaction commits, so logouts that notify commit one
/// at a time. Logical decoding announces the same deletes (a logout, a purge, an operator's
/// `DELETE`, the cascade from the user table, a `TRUNCATE`) from the log the server writes
/// anyway, after they commit, and costs the deleting transactions nothing. It needs
/// `wal_level = logical` on the server (a restart), the publication
/// `authtoken_migration::CreateRevocationPublication` installs (in place of the trigger), a role
/// with the `REPLICATION` attribute, and one replication slot and WAL sender per process
/// (`max_replication_slots`, `max_wal_senders`: 10 each by default).
///
/// Each connection makes a temporary slot of its own (`authtoken_…`), which the server drops
/// when the connection ends: a crashed process leaves no slot retaining WAL behind. Heartbeats
/// are transactional logical messages, so one arrives only after every delete that committed
/// before it was sent. As with the trigger, the channel proves at start, after every reconnect
/// and every few seconds that it is wired (the setting, the publication covering the table's
/// deletes and truncates without a row filter, the key in the deleted rows): without that
/// [`start`](Self::start) is an error, and a channel whose publication goes away stops the
/// cache's hits until it is back.
///
/// The replication connection is made with the application pool's host, port, user and
/// database; its password, if the server asks for one, is `PGPASSWORD`'s, or the one given to
/// [`start_with_password`](Self::start_with_password). It does not speak TLS: an `sslmode` of
/// `require` or stricter is refused (use the trigger there).
///
/// ```no_run
/// use std::time::Duration;
/// use authtoken::DatabaseStrategy;
/// use authtoken::cache::{CacheOptions, CachedStore};
/// use authtoken_sea_orm::revocations::PgLogicalRevocations;
/// use authtoken_sea_orm::{SeaOrmStore, access_token};
///
/// # async fn run(db: sea_orm::DatabaseConnection) -> authtoken::Result<()> {
/// let cached = CachedStore::new(SeaOrmStore::<access_token::Entity>::new(db.clone()), CacheOptions::default())?;
/// let revocations = PgLogicalRevocations::start(&db, cached.revocation_sink(), "access_token").await?;
/// let cached = cached.with_publisher(revocations.publisher());
/// let strategy = DatabaseStrategy::new(cached, Some(Duration::from_secs(3600)))?;
/// // Keep `revocations` alive as long as the strategy: dropping it stops the cache's hits.
/// # Ok(()) }
/// ```
pub struct PgLogicalRevocations {
    publisher: Arc<PgPublisher>,
    stream: Option<JoinHandle<()>>,
    heartbeat: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for PgLogicalRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLogicalRevocations")
            .field("publication", &self.publisher.channel)
            .finish()
    }
}

impl PgLogicalRevocations {
    /// Starts decoding the deletes of `token_table` (unquoted; `schema.table` allowed) published
    /// by [`default_channel`]`(token_table)` (the publication's name); an error if the server or
    /// the publication is not ready, or the replication login fails.
    pub async fn start(
        db: &DatabaseConnection,
        sink: RevocationSink,
        token_table: &str,
    ) -> Result<Self> {
        let password = std::env::var("PGPASSWORD").unwrap_or_default();
        Self::start_with_password(db, sink, token_table, &password).await
    }

    /// As [`start`](Self::start), logging in to the replication connection with `password`.
    pub async fn start_with_password(
        db: &DatabaseConnection,
        sink: RevocationSink,
        token_table: &str,
        password: &str,
    ) -> Result<Self> {
        let options = db.get_postgres_connection_pool().connect_options();
        if matches!(
            options.get_ssl_mode(),
            PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull
        ) {
            return Err(Error::Config(
                "the logical revocation channel does not speak TLS and the connection requires \
                 it: use PgRevocations (the trigger) instead",
            ));
        }
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with((*options).clone());
        let publication = default_channel(token_table);
        let quoted_table = authtoken_sql::quote(authtoken_sql::Dialect::Postgres, token_table);
        let wiring = Wiring::new(
            pool.clone(),
            PUBLICATION_WIRING,
            [quoted_table.clone(), publication.clone()],
        );
        if !wiring.check().await? {
            return Err(Error::Config(
                "the server does not decode this token table's deletes: it needs wal_level = \
                 logical and authtoken_migration::CreateRevocationPublication (the table's key \
                 in its replica identity); without them a cache would keep accepting deleted \
                 tokens",
            ));
        }
        let (schema, table): (String, String) = sea_orm::sqlx::query_as(TABLE_NAME)
            .bind(&quoted_table)
            .fetch_one(&pool)
            .await
            .map_err(Error::store)?;
        let bound = sink.staleness_bound();
        // Four heartbeats per bound: one late or lost still leaves the proof fresh.
        let interval = (bound / 4).max(Duration::from_millis(1));
        let ping_prefix = format!("authtoken_ping_{}", uuid::Uuid::new_v4().simple());
        let pending: Pending = Arc::default();
        let stream = Stream::new(
            session::Login {
                host: match options.get_socket() {
                    Some(directory) => directory.display().to_string(),
                    None => options.get_host().to_owned(),
                },
                port: options.get_port(),
                user: options.get_username().to_owned(),
                password: password.to_owned(),
                database: options.get_database().unwrap_or(options.get_username()).to_owned(),
            },
            publication.clone(),
            pgoutput::Decoder::new(&schema, &table, "token"),
            session::Proofs {
                wiring: wiring.clone(),
                sink: sink.clone(),
                ping_prefix: ping_prefix.clone(),
                channel: publication.clone(),
                pending: Arc::clone(&pending),
                // Heartbeats come back every interval: this much silence means a dead connection.
                silence: bound.max(interval * 4),
            },
        );
        // A login that cannot work is the caller's mistake: say so now, not in a log later.
        stream.check_login().await?;
        let heartbeat = Heartbeat {
            pool: pool.clone(),
            send: "SELECT pg_logical_emit_message(true, $1, $2)",
            ping_channel: ping_prefix,
            pending,
            interval,
            bound,
            wiring,
            sink,
        };
        let (stop, stopped) = watch::channel(false);
        let publisher = Arc::new(PgPublisher { pool, channel: publication });
        Ok(Self {
            publisher,
            stream: Some(tokio::spawn(stream.run(stopped))),
            heartbeat: tokio::spawn(heartbeat.run()),
            stop,
        })
    }

    /// Publishes user-wide revocations ([`CachedStore::invalidate_user`], log out everywhere) to
    /// every other process, on this channel and on the trigger's; token deletes need nothing
    /// (the stream carries them).
    ///
    /// [`CachedStore::invalidate_user`]: authtoken::cache::CachedStore::invalidate_user
    pub fn publisher(&self) -> Arc<dyn RevocationPublisher> {
        Arc::clone(&self.publisher) as Arc<dyn RevocationPublisher>
    }

    /// Stops decoding and closes the channel's connections; the server drops the slot as its
    /// connection ends. (Dropping it stops the tasks and lets the connections go in the
    /// background.)
    pub async fn stop(mut self) {
        self.heartbeat.abort();
        let _ = self.stop.send(true);
        if let Some(mut stream) = self.stream.take() {
            // The stream closes its connection first; a stuck one is cut.
            if tokio::time::timeout(Duration::from_secs(15), &mut stream).await.is_err() {
                stream.abort();
            }
        }
        self.publisher.pool.close().await;
    }
}

impl Drop for PgLogicalRevocations {
    fn drop(&mut self) {
        self.heartbeat.abort();
        // The stream task sees this and ends its connection by itself.
        let _ = self.stop.send(true);
    }
}
