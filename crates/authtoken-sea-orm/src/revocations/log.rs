//! [`LogRevocations`]: the cache's revocation channel on a database without notifications
//! (MySQL/MariaDB, SQLite): each process polls the revocation log the triggers append to.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use authtoken::cache::{Revocation, RevocationPublisher, RevocationSink};
use authtoken::{Error, Result};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};
use tokio::task::JoinHandle;

#[cfg(feature = "sqlite")]
use super::sqlite_version::DataVersion;

/// Rows per query: a poll pages through a backlog, then proves the cache current.
const PAGE: i64 = 1000;
/// An id missing below ids already seen belongs to a transaction still open, or to one rolled
/// back. It is read again on every poll until it appears, until no transaction older than its
/// first sighting is open any more (MySQL/MariaDB tell: then it was rolled back), or, where that
/// cannot be told (no `PROCESS` privilege, Galera's other nodes), until the log's retention.
/// Past this patience the open-transaction check starts.
const GAP_PATIENCE: Duration = Duration::from_secs(2);
/// Log rows older than this are deleted now and then; a gap is kept as long.
const RETENTION_HOURS: u32 = 1;
/// Past this many open gaps the cache serves no hits (each is still followed): a flood of
/// rolled-back deletes must not make the poller slow, and dropping a gap could lose a
/// revocation.
const MAX_GAPS: usize = 10_000;
/// How often the poller checks that the triggers are still there.
const WIRING_RECHECK: Duration = Duration::from_secs(2);
/// Ids just below the log's end at start that are checked for transactions still open.
const START_WINDOW: i64 = 1000;
/// How often log rows past the retention are deleted.
const CLEANUP_EVERY: Duration = Duration::from_secs(300);
/// The shortest time between two polls the binary log rings for.
#[cfg(feature = "mysql-binlog")]
const RUNG_POLL_SPACING: Duration = Duration::from_millis(1);
/// How often SQLite's change counter is read (see [`DataVersion`]).
#[cfg(feature = "sqlite")]
const DOORBELL_INTERVAL: Duration = Duration::from_millis(1);

/// Polls the revocation log (from `authtoken_migration::CreateRevocationLog`) twice per
/// staleness bound and proves the cache current after each complete poll; stops when dropped.
/// The propagation bound is the poll interval plus one query, after the deleting transaction
/// commits, however long it stayed open.
///
/// On SQLite (a database file) it reads the file's change counter, `PRAGMA data_version`, every
/// millisecond instead, on a connection of its own, and reads the log only when the counter
/// moved: each unchanged counter proves the cache current, and a revocation arrives within a
/// millisecond or two of its commit. (An in-memory database, which that connection would not
/// share, is polled as above.)
///
/// On MySQL/MariaDB with the feature `mysql-binlog`, where the server keeps a binary log in row
/// format, it also streams that log over a replication connection (the pool's host, port and
/// user, `MYSQL_PWD`'s password): the rows each committed transaction wrote to the log are
/// applied as they arrive, and the log is read at once. While the stream is down the log is
/// polled as above.
///
/// The channel proves it is wired before it proves anything else: at start and every two
/// seconds it finds the triggers that fill the log (on the token table, and the user table's
/// cascade) in the catalog. Without them [`start`](Self::start) is an error, and a poller whose
/// triggers disappear stops the cache's hits until they are back.
///
/// ```no_run
/// use authtoken::cache::{CacheOptions, CachedStore};
/// use authtoken_sea_orm::revocations::LogRevocations;
/// use authtoken_sea_orm::{SeaOrmStore, access_token};
///
/// # async fn run(db: sea_orm::DatabaseConnection) -> authtoken::Result<()> {
/// let cached = CachedStore::new(SeaOrmStore::<access_token::Entity>::new(db.clone()), CacheOptions::default())?;
/// let revocations = LogRevocations::start(&db, cached.revocation_sink(), "access_token").await?;
/// let cached = cached.with_publisher(revocations.publisher());
/// # Ok(()) }
/// ```
pub struct LogRevocations {
    publisher: Arc<LogPublisher>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for LogRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogRevocations").field("log", &self.publisher.log).finish()
    }
}

impl LogRevocations {
    /// Starts polling the log of `token_table` (`{token_table}_revocation`) on `db`, from its
    /// current end.
    pub async fn start(
        db: &DatabaseConnection,
        sink: RevocationSink,
        token_table: &str,
    ) -> Result<Self> {
        if token_table.is_empty()
            || !token_table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Error::Config("the token table must be a plain identifier"));
        }
        let log = format!("{token_table}_revocation");
        let poller = Poller::new(db.clone(), sink, token_table, &log).await?;
        if !poller.wired().await.map_err(Error::store)? {
            return Err(Error::Config(
                "the revocation log's triggers are missing: run \
                 authtoken_migration::CreateRevocationLog for this token table; without them a \
                 cache would keep accepting deleted tokens",
            ));
        }
        let task = tokio::spawn(poller.run());
        Ok(Self { publisher: Arc::new(LogPublisher { db: db.clone(), log }), task })
    }

    /// Publishes user-wide and flush-everything revocations to every other process; token
    /// deletes are logged by the triggers.
    pub fn publisher(&self) -> Arc<dyn RevocationPublisher> {
        Arc::clone(&self.publisher) as Arc<dyn RevocationPublisher>
    }
}

impl Drop for LogRevocations {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn quoted(backend: DatabaseBackend, name: &str) -> String {
    match backend {
        DatabaseBackend::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// The database's "now" in UTC, as the triggers write it.
fn utc_now(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::MySql => "UTC_TIMESTAMP(6)",
        DatabaseBackend::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
        _ => "now()",
    }
}

struct Poller {
    db: DatabaseConnection,
    sink: RevocationSink,
    token_table: String,
    log: String,
    select: String,
    cleanup: String,
    interval: Duration,
    /// The highest id read: every id at or below it was applied or is in `gaps`.
    floor: i64,
    /// Ids at or below `floor` not read yet, and since when.
    gaps: HashMap<i64, Instant>,
    /// Whether the open-transaction check can be asked: not on Galera (another node's open
    /// transaction is not in this node's list), nor once it failed (no `PROCESS` privilege).
    can_see_transactions: bool,
    /// When the poller started, while transactions older than it may still be open.
    started: Option<Instant>,
    /// The prefix that makes a read causal on Galera; empty elsewhere.
    causal: &'static str,
    /// SQLite's change counter, and its value before the last complete poll began.
    #[cfg(feature = "sqlite")]
    doorbell: Option<(DataVersion, Option<i64>)>,
    /// MySQL/MariaDB's binary log, ringing when a write to the log commits.
    #[cfg(feature = "mysql-binlog")]
    bell: Option<super::binlog_doorbell::BinlogDoorbell>,
    /// When the last rung poll began.
    #[cfg(feature = "mysql-binlog")]
    rung_poll_at: tokio::time::Instant,
}

/// A trigger: the table it is on and its statement.
type Trigger = (String, String);

impl Poller {
    async fn new(
        db: DatabaseConnection,
        sink: RevocationSink,
        token_table: &str,
        log: &str,
    ) -> Result<Self> {
        let backend = db.get_database_backend();
        let table = quoted(backend, log);
        let end = db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COALESCE(MAX(id), 0) AS n FROM {table}"),
            ))
            .await
            .map_err(Error::store)?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()
            .map_err(Error::store)?
            .unwrap_or(0);
        // On a Galera cluster every read of the log waits for what the cluster has certified
        // (as the store's own reads do): a delete committed through another node is read.
        let galera = backend == DatabaseBackend::MySql && wsrep_on(&db).await?;
        let causal = if galera { authtoken_sql::CAUSAL_READ } else { "" };
        let select = format!(
            "{causal}SELECT id, token, user_id FROM {table} WHERE id > {} ORDER BY id LIMIT {PAGE}",
            placeholder(backend, 1)
        );
        let cleanup = match backend {
            DatabaseBackend::MySql => format!(
                "DELETE FROM {table} WHERE revoked_at < UTC_TIMESTAMP(6) - INTERVAL {RETENTION_HOURS} HOUR"
            ),
            _ => format!(
                "DELETE FROM {table} WHERE revoked_at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-{RETENTION_HOURS} hours')"
            ),
        };
        let mut interval = (sink.staleness_bound() / 2).max(Duration::from_millis(1));
        #[cfg(feature = "sqlite")]
        let doorbell = match backend {
            DatabaseBackend::Sqlite => DataVersion::open(&db).await.map(|watcher| (watcher, None)),
            _ => None,
        };
        #[cfg(feature = "sqlite")]
        if let Some((watcher, _)) = &doorbell {
            tracing::debug!(file = watcher.file(), "authtoken: watching SQLite's data_version");
            interval = interval.min(DOORBELL_INTERVAL);
        }
        #[cfg(feature = "mysql-binlog")]
        let bell = match backend {
            DatabaseBackend::MySql => {
                super::binlog_doorbell::BinlogDoorbell::open(&db, log, sink.clone()).await
            }
            _ => None,
        };
        let mut poller = Self {
            db,
            sink,
            token_table: token_table.to_owned(),
            log: log.to_owned(),
            select,
            cleanup,
            interval,
            floor: end,
            gaps: HashMap::new(),
            can_see_transactions: !galera,
            started: (!galera && backend == DatabaseBackend::MySql).then(Instant::now),
            causal,
            #[cfg(feature = "sqlite")]
            doorbell,
            #[cfg(feature = "mysql-binlog")]
            bell,
            #[cfg(feature = "mysql-binlog")]
            rung_poll_at: tokio::time::Instant::now(),
        };
        // Ids below the end that are not there yet may belong to transactions still open.
        poller.note_missing_below_end().await.map_err(Error::store)?;
        Ok(poller)
    }

    async fn note_missing_below_end(&mut self) -> std::result::Result<(), sea_orm::DbErr> {
        let backend = self.db.get_database_backend();
        let low = (self.floor - START_WINDOW).max(0);
        let sql = format!(
            "SELECT id FROM {} WHERE id > {} ORDER BY id",
            quoted(backend, &self.log),
            placeholder(backend, 1)
        );
        let statement = Statement::from_sql_and_values(backend, &sql, [Value::from(low)]);
        let present: BTreeSet<i64> = self
            .db
            .query_all_raw(statement)
            .await?
            .iter()
            .map(|row| row.try_get::<i64>("", "id"))
            .collect::<std::result::Result<_, _>>()?;
        let now = Instant::now();
        for id in (low + 1)..=self.floor {
            if !present.contains(&id) {
                self.gaps.insert(id, now);
            }
        }
        Ok(())
    }

    /// The triggers that fill the log are in place: one on the token table, and one on another
    /// table (the users') that logs the token table's rows before a cascade.
    async fn wired(&self) -> std::result::Result<bool, sea_orm::DbErr> {
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::MySql => {
                "SELECT EVENT_OBJECT_TABLE AS tbl, ACTION_STATEMENT AS body \
                 FROM information_schema.TRIGGERS \
                 WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_MANIPULATION = 'DELETE'"
            }
            _ => "SELECT tbl_name AS tbl, sql AS body FROM sqlite_master WHERE type = 'trigger'",
        };
        let rows = self.db.query_all_raw(Statement::from_string(backend, sql)).await?;
        let triggers: Vec<Trigger> = rows
            .iter()
            .map(|row| Ok((row.try_get("", "tbl")?, row.try_get("", "body")?)))
            .collect::<std::result::Result<_, sea_orm::DbErr>>()?;
        Ok(log_is_filled_by(&triggers, &self.token_table, &self.log, backend))
    }

    async fn run(mut self) {
        // Everything cached before the poller knew the log's end is suspect.
        self.sink.resubscribed();
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        let mut wired = true;
        let mut checked = Instant::now();
        let mut cleaned = Instant::now();
        loop {
            self.next_tick(&mut ticks).await;
            let started = Instant::now();
            if checked.elapsed() >= WIRING_RECHECK || !wired {
                checked = started;
                let now_wired = matches!(self.wired().await, Ok(true));
                if now_wired && !wired {
                    // Deletes went unlogged meanwhile: nothing cached then can be trusted.
                    self.sink.resubscribed();
                } else if !now_wired && wired {
                    tracing::warn!(
                        "authtoken: the revocation log's triggers are gone; the cache serves no hits"
                    );
                }
                wired = now_wired;
                if !wired {
                    self.sink.withdraw();
                    continue;
                }
            }
            if !failing && self.quiet_since_last_poll().await {
                // Nothing was committed since the last complete poll began: it read all there is.
                self.sink.caught_up_to(started);
                continue;
            }
            match self.poll().await {
                Ok(()) => {
                    if failing {
                        // Nothing in the log was lost, but the log may have been cleaned
                        // past us while we failed: start from nothing.
                        self.sink.resubscribed();
                        failing = false;
                    }
                    if self.gaps.len() > MAX_GAPS || self.startup_transactions_open().await {
                        // Not provably current: no hits until the gaps close.
                        self.sink.withdraw();
                    } else {
                        self.sink.caught_up_to(started);
                    }
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "authtoken: cannot read the revocation log; the cache serves no hits");
                    }
                    self.sink.withdraw();
                    failing = true;
                }
            }
            if cleaned.elapsed() >= CLEANUP_EVERY {
                cleaned = Instant::now();
                let statement =
                    Statement::from_string(self.db.get_database_backend(), &self.cleanup);
                if let Err(error) = self.db.execute_raw(statement).await {
                    tracing::debug!(%error, "authtoken: revocation log not cleaned");
                }
            }
        }
    }

    /// Waits for the next tick or (with the binary log's stream, which has applied the rows
    /// already) a ring, whichever comes first: the poll that follows proves the cache current.
    async fn next_tick(&mut self, ticks: &mut tokio::time::Interval) {
        #[cfg(feature = "mysql-binlog")]
        if let Some(bell) = &self.bell {
            let rung = tokio::select! {
                _ = ticks.tick() => false,
                _ = bell.rung() => true,
            };
            // Under a storm of logouts every commit rings: at most one rung poll per spacing
            // (the rings meanwhile are read by that poll).
            if rung {
                tokio::time::sleep_until(self.rung_poll_at + RUNG_POLL_SPACING).await;
                self.rung_poll_at = tokio::time::Instant::now();
            }
            return;
        }
        ticks.tick().await;
    }

    /// Whether SQLite's change counter has not moved since it was read before the last
    /// complete poll (and no gap waits to be retired): then that poll read everything committed
    /// up to now. Otherwise the counter is noted for the poll that follows. Always false without
    /// the counter.
    async fn quiet_since_last_poll(&mut self) -> bool {
        #[cfg(feature = "sqlite")]
        if let Some((watcher, seen)) = &mut self.doorbell {
            let now = watcher.read().await.ok();
            let quiet = now.is_some() && now == *seen && self.gaps.is_empty();
            *seen = now;
            return quiet;
        }
        false
    }

    /// Reads every row past `floor`, then the gaps, and applies what is new.
    async fn poll(&mut self) -> std::result::Result<(), sea_orm::DbErr> {
        let backend = self.db.get_database_backend();
        loop {
            let statement =
                Statement::from_sql_and_values(backend, &self.select, [Value::from(self.floor)]);
            let rows = self.db.query_all_raw(statement).await?;
            let count = rows.len() as i64;
            let now = Instant::now();
            for row in rows {
                let id: i64 = row.try_get("", "id")?;
                if id <= self.floor {
                    continue;
                }
                for missing in (self.floor + 1)..id {
                    self.gaps.insert(missing, now);
                }
                self.floor = id;
                self.apply(&row).await?;
            }
            if count < PAGE {
                break;
            }
        }
        self.read_gaps().await?;
        self.retire_gaps().await
    }

    async fn apply(&self, row: &sea_orm::QueryResult) -> std::result::Result<(), sea_orm::DbErr> {
        let token: Option<String> = row.try_get("", "token")?;
        let user: Option<String> = row.try_get("", "user_id")?;
        let revocation = match (token, user) {
            (Some(token), _) => Revocation::Tokens(vec![token]),
            (None, Some(user)) => Revocation::User(user),
            (None, None) => Revocation::All,
        };
        self.sink.apply(&revocation).await;
        Ok(())
    }

    /// Reads the gaps' ids again: a transaction that committed since fills its own.
    async fn read_gaps(&mut self) -> std::result::Result<(), sea_orm::DbErr> {
        if self.gaps.is_empty() {
            return Ok(());
        }
        let backend = self.db.get_database_backend();
        let ids: Vec<i64> = self.gaps.keys().copied().collect();
        for chunk in ids.chunks(500) {
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let sql = format!(
                "{}SELECT id, token, user_id FROM {} WHERE id IN ({list})",
                self.causal,
                quoted(backend, &self.log)
            );
            for row in self.db.query_all_raw(Statement::from_string(backend, sql)).await? {
                let id: i64 = row.try_get("", "id")?;
                if self.gaps.remove(&id).is_some() {
                    self.apply(&row).await?;
                }
            }
        }
        Ok(())
    }

    /// Drops the gaps no transaction can fill any more.
    async fn retire_gaps(&mut self) -> std::result::Result<(), sea_orm::DbErr> {
        let now = Instant::now();
        let retention = Duration::from_secs(u64::from(RETENTION_HOURS) * 3600);
        self.gaps.retain(|_, since| now.duration_since(*since) < retention);
        let Some(oldest) = self
            .gaps
            .values()
            .copied()
            .filter(|since| now.duration_since(*since) >= GAP_PATIENCE)
            .min()
        else {
            return Ok(());
        };
        if self.db.get_database_backend() != DatabaseBackend::MySql {
            // SQLite writers take turns: an id is used only by a committed insert, and a gap is
            // a rolled-back one.
            self.gaps.retain(|_, since| now.duration_since(*since) < GAP_PATIENCE);
            return Ok(());
        }
        // Every transaction open when the oldest such gap was first seen has ended: what it
        // inserted either committed (and the read just before this found it) or never will.
        // `trx_started` is kept in whole seconds, rounded down: the check covers every
        // transaction that began before `oldest` (and some after), never fewer.
        let age = now.duration_since(oldest);
        if self.open_transactions_older_than(age).await == Some(0) {
            // One more read, after the check: a commit in between is not lost.
            self.read_gaps().await?;
            self.gaps.retain(|_, since| *since > oldest);
        }
        Ok(())
    }

    /// How many InnoDB transactions began more than `age` ago; `None` if this connection
    /// may not see them (or on Galera, where another node's open transaction is not listed).
    async fn open_transactions_older_than(&mut self, age: Duration) -> Option<i64> {
        if !self.can_see_transactions {
            return None;
        }
        let backend = self.db.get_database_backend();
        // NOW(6): NOW() is whole seconds, and would leave out a transaction begun in the
        // second before the gap was seen.
        let sql = format!(
            "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX \
             WHERE trx_started < NOW(6) - INTERVAL {} MICROSECOND",
            age.as_micros()
        );
        match self.db.query_one_raw(Statement::from_string(backend, sql)).await {
            Ok(Some(row)) => row.try_get::<i64>("", "n").ok(),
            // Only a refusal (error 1227, no `PROCESS`) turns the check off for good; anything
            // else (a lost connection) just answers nothing this time.
            Err(error) if error.to_string().contains("denied") => {
                self.can_see_transactions = false;
                None
            }
            _ => None,
        }
    }

    /// Whether a transaction older than the poller is still open: its delete may have taken an
    /// id far below the log's end at start, where no gap was noted. Until none is, no hits.
    async fn startup_transactions_open(&mut self) -> bool {
        let Some(started) = self.started else { return false };
        if !self.can_see_transactions {
            self.started = None;
            return false;
        }
        match self.open_transactions_older_than(started.elapsed()).await {
            Some(0) => {
                self.started = None;
                false
            }
            _ => true,
        }
    }
}

/// Whether a MySQL/MariaDB server is a Galera node (`wsrep_on`).
async fn wsrep_on(db: &DatabaseConnection) -> Result<bool> {
    let statement =
        Statement::from_string(DatabaseBackend::MySql, "SHOW VARIABLES LIKE 'wsrep_on'");
    let row = db.query_one_raw(statement).await.map_err(Error::store)?;
    let on = match row {
        Some(row) => row.try_get_by_index::<String>(1).map_err(Error::store)?,
        None => String::new(),
    };
    Ok(on.eq_ignore_ascii_case("ON"))
}

/// Whether `triggers` fill `log`: a delete trigger on `token_table` that writes to it, and one
/// on another table that writes the token table's rows to it (the user table's, for cascades).
fn log_is_filled_by(
    triggers: &[Trigger],
    token_table: &str,
    log: &str,
    backend: DatabaseBackend,
) -> bool {
    let writes_log = |body: &str| body.contains(log);
    let on_delete = |body: &str| {
        backend == DatabaseBackend::MySql || body.to_ascii_uppercase().contains("DELETE ON")
    };
    let own = triggers
        .iter()
        .any(|(table, body)| table == token_table && writes_log(body) && on_delete(body));
    let cascade = triggers.iter().any(|(table, body)| {
        table != token_table && writes_log(body) && on_delete(body) && body.contains(token_table)
    });
    own && cascade
}

/// Appends user-wide and flush-everything revocations to the log.
struct LogPublisher {
    db: DatabaseConnection,
    log: String,
}

#[async_trait::async_trait]
impl RevocationPublisher for LogPublisher {
    async fn publish(&self, revocation: Revocation) -> Result<()> {
        let user = match revocation {
            Revocation::Tokens(_) => return Ok(()),
            Revocation::User(user) => Some(user),
            Revocation::All => None,
        };
        let backend = self.db.get_database_backend();
        let sql = format!(
            "INSERT INTO {} (user_id, revoked_at) VALUES ({}, {})",
            quoted(backend, &self.log),
            placeholder(backend, 1),
            utc_now(backend)
        );
        let statement = Statement::from_sql_and_values(backend, &sql, [Value::from(user)]);
        self.db.execute_raw(statement).await.map(drop).map_err(Error::store)
    }
}
