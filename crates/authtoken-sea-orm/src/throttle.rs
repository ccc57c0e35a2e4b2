//! [`SeaOrmThrottle`]: login attempts counted in the application's SQL database, shared by every
//! process that uses it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use authtoken::throttle::{LoginThrottle, Reservation, ThrottleCount, ThrottleKey, ThrottlePolicy};
use authtoken::{BoxError, Clock, SystemClock};
use authtoken_sql::{Dialect, quote};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};

/// The table [`SeaOrmThrottle::new`] counts in, made by `authtoken_migration::CreateLoginThrottleTable`.
pub const DEFAULT_THROTTLE_TABLE: &str = "authtoken_login_throttle";

/// How many times a reservation reads and writes again after a concurrent one changed its key
/// first; past it the attempt is refused as locked (a burst that large is an attack).
const CONFLICT_RETRIES: usize = 200;

/// Counts login attempts in a table of the application's database (SQLite, PostgreSQL or
/// MySQL/MariaDB), so that every process sharing the database shares the allowance.
///
/// Each reservation reads the key's row and writes the next count only if the row is still what
/// it read (a compare-and-set, the same on every database); a concurrent reservation that got
/// there first makes it read again. Of N concurrent attempts at most the free allowance is
/// granted, whichever process they reach. The table comes from the migration
/// `authtoken_migration::CreateLoginThrottleTable`; without it every login is a 500, never an
/// unthrottled attempt.
///
/// ```no_run
/// use authtoken_sea_orm::SeaOrmThrottle;
/// use authtoken::throttle::ThrottlePolicy;
///
/// # async fn run(db: sea_orm::DatabaseConnection) {
/// let throttle = SeaOrmThrottle::new(db, ThrottlePolicy::default());
/// // AuthRoutes::new(auth, "bearer", credentials)?.with_throttle(throttle)
/// # }
/// ```
pub struct SeaOrmThrottle {
    db: DatabaseConnection,
    policy: ThrottlePolicy,
    clock: Arc<dyn Clock>,
    sql: ThrottleSql,
    backend: DatabaseBackend,
    /// When expired rows were last deleted (Unix ms).
    last_purge: AtomicI64,
}

struct ThrottleSql {
    select: String,
    insert: String,
    update: String,
    release_client: String,
    release_account: String,
    purge: String,
}

impl ThrottleSql {
    fn new(dialect: Dialect, table: &str) -> Self {
        let t = quote(dialect, table);
        let p = |n: usize| match dialect {
            Dialect::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        };
        let insert = match dialect {
            Dialect::MySql => "INSERT IGNORE INTO",
            _ => "INSERT INTO",
        };
        let ignore = match dialect {
            Dialect::MySql => "",
            _ => " ON CONFLICT (throttle_key) DO NOTHING",
        };
        Self {
            select: format!(
                "SELECT attempts, window_start, locked_until FROM {t} WHERE throttle_key = {}",
                p(1)
            ),
            insert: format!(
                "{insert} {t} (throttle_key, attempts, window_start, locked_until) \
                 VALUES ({}, {}, {}, {}){ignore}",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            update: format!(
                "UPDATE {t} SET attempts = {}, window_start = {}, locked_until = {} \
                 WHERE throttle_key = {} AND attempts = {} AND window_start = {} \
                 AND locked_until = {}",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7)
            ),
            // As `ThrottlePolicy::release`: the reservation given back, an account's lock ended.
            release_client: format!(
                "UPDATE {t} SET attempts = attempts - 1 WHERE throttle_key = {} AND attempts > 0",
                p(1)
            ),
            release_account: format!(
                "UPDATE {t} SET attempts = attempts - 1, locked_until = 0 \
                 WHERE throttle_key = {} AND attempts > 0",
                p(1)
            ),
            purge: format!("DELETE FROM {t} WHERE window_start < {}", p(1)),
        }
    }
}

impl SeaOrmThrottle {
    /// Counts in [`DEFAULT_THROTTLE_TABLE`] of `db`.
    pub fn new(db: DatabaseConnection, policy: ThrottlePolicy) -> Self {
        Self::with_table(db, DEFAULT_THROTTLE_TABLE, policy)
    }

    /// Counts in `table` of `db` (unquoted; `schema.table` allowed).
    pub fn with_table(db: DatabaseConnection, table: &str, policy: ThrottlePolicy) -> Self {
        let backend = db.get_database_backend();
        let dialect = match backend {
            DatabaseBackend::Postgres => Dialect::Postgres,
            DatabaseBackend::MySql => Dialect::MySql,
            _ => Dialect::Sqlite,
        };
        Self {
            db,
            policy,
            clock: Arc::new(SystemClock),
            sql: ThrottleSql::new(dialect, table),
            backend,
            last_purge: AtomicI64::new(0),
        }
    }

    /// Reads the time from `clock`. Every process sharing the table must read the same time.
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, values)
    }

    async fn read(&self, key: &str) -> Result<Option<ThrottleCount>, BoxError> {
        let statement = self.statement(&self.sql.select, vec![key.into()]);
        let Some(row) = self.db.query_one_raw(statement).await? else {
            return Ok(None);
        };
        let attempts: i64 = row.try_get_by_index(0)?;
        Ok(Some(ThrottleCount {
            attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
            window_start: row.try_get_by_index(1)?,
            locked_until: row.try_get_by_index(2)?,
        }))
    }

    /// Writes `next` over `seen` (or a new row where there was none); whether it got there first.
    async fn write(
        &self,
        key: &str,
        seen: Option<ThrottleCount>,
        next: ThrottleCount,
    ) -> Result<bool, BoxError> {
        let values = |c: ThrottleCount| -> [Value; 3] {
            [i64::from(c.attempts).into(), c.window_start.into(), c.locked_until.into()]
        };
        let statement = match seen {
            None => {
                let mut all = vec![key.into()];
                all.extend(values(next));
                self.statement(&self.sql.insert, all)
            }
            Some(seen) => {
                let mut all = Vec::from(values(next));
                all.push(key.into());
                all.extend(values(seen));
                self.statement(&self.sql.update, all)
            }
        };
        Ok(self.db.execute_raw(statement).await?.rows_affected() == 1)
    }

    async fn reserve_key(&self, key: &ThrottleKey, now: i64) -> Result<Option<Duration>, BoxError> {
        let name = key.storage_key();
        for _ in 0..CONFLICT_RETRIES {
            let seen = self.read(&name).await?;
            let (next, locked) =
                self.policy.reserve(seen.unwrap_or_default(), now, !key.is_account());
            if locked.is_some() {
                return Ok(locked);
            }
            if self.write(&name, seen, next).await? {
                return Ok(None);
            }
        }
        // Fails closed: a key this contended is under attack.
        Ok(Some(Duration::from_millis(u64::try_from(self.policy.base_ms()).unwrap_or(1000))))
    }

    /// Deletes the rows whose window has passed (done by itself at most once a window).
    pub async fn purge(&self) -> Result<u64, BoxError> {
        let now = self.clock.now().timestamp_millis();
        let cutoff = now.saturating_sub(self.policy.window_ms());
        let statement = self.statement(&self.sql.purge, vec![cutoff.into()]);
        Ok(self.db.execute_raw(statement).await?.rows_affected())
    }
}

impl std::fmt::Debug for SeaOrmThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmThrottle")
            .field("backend", &self.backend)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl LoginThrottle for SeaOrmThrottle {
    async fn reserve(&self, keys: &[ThrottleKey]) -> Result<Reservation, BoxError> {
        let now = self.clock.now().timestamp_millis();
        let last = self.last_purge.load(Ordering::Relaxed);
        if now.saturating_sub(last) > self.policy.window_ms()
            && self
                .last_purge
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.purge().await?;
        }
        // Client keys first: a locked address must not spend the account's attempts.
        let mut ordered: Vec<&ThrottleKey> = keys.iter().collect();
        ordered.sort_by_key(|key| key.is_account());
        for key in ordered {
            if let Some(wait) = self.reserve_key(key, now).await? {
                return Ok(Reservation::Locked(wait));
            }
        }
        Ok(Reservation::Granted)
    }

    async fn succeeded(&self, keys: &[ThrottleKey]) -> Result<(), BoxError> {
        for key in keys {
            let sql =
                if key.is_account() { &self.sql.release_account } else { &self.sql.release_client };
            self.db.execute_raw(self.statement(sql, vec![key.storage_key().into()])).await?;
        }
        Ok(())
    }
}
