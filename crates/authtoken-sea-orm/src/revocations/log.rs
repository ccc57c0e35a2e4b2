//! [`LogRevocations`]: the cache's revocation channel on a database without notifications
//! (MySQL/MariaDB, SQLite): each process polls the revocation log the triggers append to.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use authtoken::cache::{Revocation, RevocationPublisher, RevocationSink};
use authtoken::{Error, Result};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};
use tokio::task::JoinHandle;

/// Rows per query: a poll pages through a backlog, then proves the cache current.
const PAGE: i64 = 1000;
/// An id missing below ids already seen is waited for this long (its transaction may still
/// commit); after that it is taken for a rolled-back insert. A deleting transaction held open
/// longer than this after its `DELETE` may reach the caches only through `max_age`.
const GAP_PATIENCE: Duration = Duration::from_secs(10);
/// Log rows older than this are deleted now and then.
const RETENTION_HOURS: u32 = 1;

/// Polls the revocation log (from `authtoken_migration::CreateRevocationLog`) twice per
/// staleness bound and proves the cache current after each complete poll; stops when dropped.
/// The propagation bound is the poll interval plus one query.
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
        let poller = Poller::new(db.clone(), sink, &log).await?;
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
    select: String,
    cleanup: String,
    interval: Duration,
    /// Every id at or below it has been applied (or given up as a rolled-back insert).
    floor: i64,
    /// Ids above `floor` already applied.
    seen: BTreeSet<i64>,
    /// Ids above `floor` not seen yet though higher ones were, and since when.
    gaps: HashMap<i64, Instant>,
}

impl Poller {
    async fn new(db: DatabaseConnection, sink: RevocationSink, log: &str) -> Result<Self> {
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
        let select = format!(
            "SELECT id, token, user_id FROM {table} WHERE id > {} ORDER BY id LIMIT {PAGE}",
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
        let interval = (sink.staleness_bound() / 2).max(Duration::from_millis(1));
        Ok(Self {
            db,
            sink,
            select,
            cleanup,
            interval,
            floor: end,
            seen: BTreeSet::new(),
            gaps: HashMap::new(),
        })
    }

    async fn run(mut self) {
        // Everything cached before the poller knew the log's end is suspect.
        self.sink.resubscribed();
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        for round in 0u64.. {
            ticks.tick().await;
            let started = Instant::now();
            match self.poll().await {
                Ok(()) => {
                    if failing {
                        // Nothing in the log was lost, but the log may have been cleaned
                        // past us while we failed: start from nothing.
                        self.sink.resubscribed();
                        failing = false;
                    }
                    self.sink.caught_up_to(started);
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "authtoken: cannot read the revocation log; the cache serves no hits");
                    }
                    self.sink.withdraw();
                    failing = true;
                }
            }
            if round % 1000 == 999 {
                let statement =
                    Statement::from_string(self.db.get_database_backend(), &self.cleanup);
                if let Err(error) = self.db.execute_raw(statement).await {
                    tracing::debug!(%error, "authtoken: revocation log not cleaned");
                }
            }
        }
    }

    /// Reads every row past `floor` and applies the new ones.
    async fn poll(&mut self) -> std::result::Result<(), sea_orm::DbErr> {
        let backend = self.db.get_database_backend();
        let mut cursor = self.floor;
        loop {
            let statement =
                Statement::from_sql_and_values(backend, &self.select, [Value::from(cursor)]);
            let rows = self.db.query_all_raw(statement).await?;
            let count = rows.len() as i64;
            for row in rows {
                let id: i64 = row.try_get("", "id")?;
                let token: Option<String> = row.try_get("", "token")?;
                let user: Option<String> = row.try_get("", "user_id")?;
                cursor = id;
                if id <= self.floor || !self.seen.insert(id) {
                    continue;
                }
                let revocation = match (token, user) {
                    (Some(token), _) => Revocation::Tokens(vec![token]),
                    (None, Some(user)) => Revocation::User(user),
                    (None, None) => Revocation::All,
                };
                self.sink.apply(&revocation).await;
            }
            if count < PAGE {
                break;
            }
        }
        self.advance_floor();
        Ok(())
    }

    /// Moves `floor` over applied ids and over gaps waited on long enough.
    fn advance_floor(&mut self) {
        let Some(&highest) = self.seen.last() else { return };
        let now = Instant::now();
        let mut next = self.floor + 1;
        while next <= highest {
            if self.seen.remove(&next) {
                self.gaps.remove(&next);
            } else {
                let since = *self.gaps.entry(next).or_insert(now);
                if now.duration_since(since) < GAP_PATIENCE {
                    break;
                }
                self.gaps.remove(&next);
            }
            self.floor = next;
            next += 1;
        }
        // Record the remaining gaps' first sighting.
        for id in next..highest {
            if !self.seen.contains(&id) {
                self.gaps.entry(id).or_insert(now);
            }
        }
    }
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
