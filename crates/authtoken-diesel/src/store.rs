//! [`DieselStore`]: the storage contract on a diesel-async pool.

use std::future::Future;
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use authtoken::store::{
    AccessToken, AccessTokenStore, ListTokens, PurgeExpired, TokenColumns, TokenUse,
};
use authtoken::{Error, Result};
use authtoken_sql::{
    Bound, Dialect, ReplicaSet, ReplicaStats, SqlParam, Statements, quote, retrying_conflicts,
};
use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::connection::{IdOn, StoreConnection};
use crate::query::StoreQuery;
use crate::sql_types::UserIdSql;
use crate::table::{AccessTokenTable, IdOf};

/// How long a call waits for a free connection unless [`DieselStore::with_timeout`] says
/// otherwise (sqlx's default, which the SeaORM store has).
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Token rows in table `T` (declared with [`access_token_table!`](crate::access_token_table)),
/// over a deadpool pool of connections `C`.
///
/// Each operation is one statement of [`authtoken_sql`], rendered once when the store is made
/// (the same SQL the SeaORM store runs, so both read and write the same rows in the same forms).
/// A lookup is a primary-key `SELECT`; the expiry check happens on the row it returns, exactly,
/// whatever form a timestamp was written in.
///
/// ```no_run
/// # #[cfg(feature = "postgres")] async fn run() -> authtoken::Result<()> {
/// mod schema {
///     authtoken_diesel::access_token_table!(access_token, user_id = Uuid);
/// }
/// use authtoken_diesel::{AsyncPgConnection, DieselStore};
///
/// let pool = authtoken_diesel::connect::<AsyncPgConnection>("postgres://localhost/app", 16).await?;
/// let store = DieselStore::<schema::access_token::table, AsyncPgConnection>::new(pool);
/// let strategy = authtoken::DatabaseStrategy::new(store, Some(std::time::Duration::from_secs(3600)))?;
/// # Ok(()) }
/// ```
pub struct DieselStore<T, C: StoreConnection> {
    pool: C::Pool,
    sql: Arc<Statements>,
    timeout: Option<Duration>,
    custom_table: bool,
    causal_reads: bool,
    /// PostgreSQL standbys the token reads go to ([`with_read_replicas`](Self::with_read_replicas)).
    pub(crate) replicas: Option<Arc<ReplicaSet<C::Pool>>>,
    table: PhantomData<fn() -> T>,
}

impl<T: AccessTokenTable, C: StoreConnection> DieselStore<T, C> {
    /// A store over `pool`, on `T`'s table.
    pub fn new(pool: C::Pool) -> Self {
        let sql = Arc::new(Statements::new(C::DIALECT, T::NAME, T::DETAILS));
        let (custom_table, causal_reads) = (false, false);
        let (timeout, replicas) = (None, None);
        Self { pool, sql, timeout, custom_table, causal_reads, replicas, table: PhantomData }
    }

    /// The statements for `table`, with or without the API-token columns, causal if the store
    /// is.
    fn render(&mut self, table: &str, details: bool, client: bool) {
        let sql = Statements::new(C::DIALECT, table, details);
        let sql = if client { sql.with_client_columns() } else { sql };
        self.sql = Arc::new(if self.causal_reads { sql.with_causal_reads() } else { sql });
    }

    /// Uses the table `name` (`schema.table` also works) instead of `T`'s own, for a table
    /// named at run time; `T` still gives the id type and the columns. The joined read
    /// ([`read_token`](authtoken::DatabaseStrategy::read_token) with [`Joined`](authtoken::Joined)) goes
    /// through `T`'s `table!` and refuses to run on a renamed store.
    pub fn with_table(mut self, name: &str) -> Self {
        self.render(name, T::DETAILS, self.sql.client);
        self.custom_table = true;
        self
    }

    /// Reads and writes the API-token columns (`expires_at`, `name`, `scopes`,
    /// `last_used_at`) although `T` was declared without them: for a table whose columns are
    /// only known at run time, as an operator's tool meets it. The joined read goes through
    /// `T`'s `table!`, which lacks them, and refuses to run on such a store; declare the table
    /// with `, details` in an application.
    pub fn with_details(mut self) -> Self {
        if !self.sql.details {
            let table = self.sql.table.clone();
            self.render(&table, true, self.sql.client);
        }
        self
    }

    /// Reads and writes the client's columns (`user_agent`, `address`), which the table must
    /// have (the migrations `POSTGRES_CLIENT`, `MYSQL_CLIENT`, `SQLITE_CLIENT` add them):
    /// sessions then show the device and address they were opened from
    /// ([`ClientInfo`](authtoken::ClientInfo)). The joined read, the request's hot path, leaves
    /// them out of its row.
    pub fn with_client_columns(mut self) -> Self {
        if !self.sql.client {
            let table = self.sql.table.clone();
            self.render(&table, self.sql.details, true);
        }
        self
    }

    /// On a MariaDB Galera cluster: makes every read wait until its node has applied every
    /// write the cluster certified before it (`wsrep_sync_wait=1`, per statement, the joined
    /// read included), and every `DELETE`/`UPDATE` likewise (`wsrep_sync_wait=2`). A revoke
    /// that returned through any node is then refused through every node, and a fresh login is
    /// found through every node at once. Other databases ignore it;
    /// [`detect_galera`](Self::detect_galera) turns it on by itself.
    pub fn with_causal_reads(mut self) -> Self {
        if C::DIALECT == Dialect::MySql && !self.causal_reads {
            self.sql = Arc::new(self.sql.with_causal_reads());
            self.causal_reads = true;
        }
        self
    }

    /// Asks the database whether it is a Galera node (`wsrep_on`), and if so makes reads causal
    /// ([`with_causal_reads`](Self::with_causal_reads)). PostgreSQL, SQLite and a MySQL or
    /// MariaDB without Galera are not one.
    pub async fn detect_galera(self) -> Result<Self> {
        let on = {
            let mut conn = self.conn().await?;
            self.bounded(conn.is_galera_node()).await?.map_err(store_error)?
        };
        Ok(if on { self.with_causal_reads() } else { self })
    }

    /// Whether reads are causal (see [`with_causal_reads`](Self::with_causal_reads)).
    pub fn causal_reads(&self) -> bool {
        self.causal_reads
    }

    /// Turns on [`with_details`](Self::with_details) if the table has the API-token columns,
    /// and [`with_client_columns`](Self::with_client_columns) if it has the client's, as the
    /// database's catalog lists them. A table without them is not an error; one with only some
    /// of a group is [`Error::Schema`]; a store failure is an error.
    pub async fn detect_details(self) -> Result<Self>
    where
        C: IdOn<T::UserIdSql>,
    {
        let (sql, values) = self.sql.detail_columns();
        let details =
            self.sql.has_detail_columns(self.count(self.statement(&sql, values)).await?)?;
        let (sql, values) = self.sql.client_columns();
        let client =
            self.sql.has_client_columns(self.count(self.statement(&sql, values)).await?)?;
        let store = if details { self.with_details() } else { self };
        Ok(if client { store.with_client_columns() } else { store })
    }

    /// Bounds every database call: a wait for a connection, or a statement, that has not
    /// answered within `timeout` (each) fails with [`Error::Store`] instead of hanging the
    /// request. Without it, only the wait for a connection is bounded (30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The store's timeout, if it has one.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The pool the store runs on.
    pub fn pool(&self) -> &C::Pool {
        &self.pool
    }

    /// Checks that the token table exists with its columns and, if it holds a row, that the
    /// row reads as `T`'s types: an [`Error::Schema`] naming the table and the problem otherwise.
    pub async fn check_table(&self) -> Result<()>
    where
        C: IdOn<T::UserIdSql>,
    {
        let table = &self.sql.table;
        let expected = std::any::type_name::<IdOf<T>>();
        let misread = |e| {
            Error::Schema(format!("a row of `{table}` does not read as user_id {expected}: {e}"))
        };
        let statement = self.statement(&self.sql.probe, vec![]);
        let mut conn = self.conn().await?;
        // Only the key and the owner: one row with a garbage time must not stop every
        // command (a revoke, a purge) that never needs to read it.
        self.bounded(conn.owner_rows(statement)).await?.map_err(|e| match e {
            DieselError::DeserializationError(e) => misread(e.to_string()),
            e => Error::Schema(format!("cannot read table `{table}`: {e}")),
        })?;
        if self.sql.dialect == Dialect::Sqlite {
            // SQLite reads any value as any type; its storage class tells a misdeclared id.
            let storage = <T::UserIdSql as UserIdSql>::SQLITE_STORAGE;
            let sql = format!(
                "SELECT COUNT(*) AS total FROM (SELECT 1 FROM {} WHERE typeof(user_id) <> ? LIMIT 1)",
                quote(Dialect::Sqlite, table)
            );
            let check = self.statement(&sql, vec![SqlParam::Text(storage.to_owned())]);
            let others = self.bounded(conn.count(check)).await?.map_err(store_error)?;
            if others > 0 {
                return Err(misread(format!("SQLite does not hold it as {storage}")));
            }
        }
        Ok(())
    }

    /// A connection from the pool, within the store's timeout (or the default wait).
    pub(crate) async fn conn(&self) -> Result<C::Pooled> {
        let limit = self.timeout.unwrap_or(DEFAULT_ACQUIRE_TIMEOUT);
        match tokio::time::timeout(limit, C::take(&self.pool)).await {
            Ok(conn) => conn,
            Err(_) => Err(Error::store(format!("no database connection within {limit:?}"))),
        }
    }

    /// `sql` with `values` bound in order.
    pub(crate) fn statement(&self, sql: &str, values: Vec<SqlParam>) -> StoreQuery<T::UserIdSql> {
        StoreQuery::new(sql).bind_all(values)
    }

    /// A statement that came with its values.
    fn bound(&self, bound: Bound<'_>) -> StoreQuery<T::UserIdSql> {
        self.statement(bound.sql, bound.values)
    }

    /// Runs one call under the store's timeout, if it has one.
    pub(crate) async fn bounded<F: Future>(&self, call: F) -> Result<F::Output> {
        match self.timeout {
            None => Ok(call.await),
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .map_err(|_| Error::store(format!("the database did not answer within {limit:?}"))),
        }
    }

    /// Runs a write built by `statement`. A deadlock or lost serialization (nothing was
    /// committed) is retried with back-off; the error surfaces only when the retries are spent.
    async fn execute(&self, statement: impl Fn() -> StoreQuery<T::UserIdSql>) -> Result<u64>
    where
        C: IdOn<T::UserIdSql>,
    {
        let attempt = || async {
            let mut conn = self.conn().await?;
            self.bounded(conn.run(statement())).await
        };
        let outcome = retrying_conflicts(attempt, is_serialization_failure).await?;
        outcome.map(|changed| changed as u64).map_err(store_error)
    }

    /// The freshness probe (`authtoken_sql::FRESHNESS_PROBE`) on the replica behind `pool`:
    /// whether it streams and has replayed all it received.
    pub(crate) async fn replica_probe(&self, pool: &C::Pool) -> Result<Option<bool>>
    where
        C: IdOn<T::UserIdSql>,
    {
        let mut conn = C::take(pool).await?;
        IdOn::<T::UserIdSql>::replica_is_fresh(&mut *conn).await.map_err(store_error)
    }

    /// How many token reads the replicas answered, and how many went to the primary (a miss,
    /// a replica behind, failing or slow); zero without replicas.
    pub fn replica_stats(&self) -> ReplicaStats {
        self.replicas.as_ref().map(|r| r.stats()).unwrap_or_default()
    }

    /// Runs a query of token rows.
    async fn rows(&self, statement: StoreQuery<T::UserIdSql>) -> Result<Vec<AccessToken<IdOf<T>>>>
    where
        C: IdOn<T::UserIdSql>,
    {
        let mut conn = self.conn().await?;
        let rows = self.bounded(conn.token_rows(statement)).await?.map_err(store_error)?;
        Ok(rows.into_iter().map(|row| row.0).collect())
    }

    /// Runs a `SELECT COUNT(*) AS total …`.
    async fn count(&self, statement: StoreQuery<T::UserIdSql>) -> Result<u64>
    where
        C: IdOn<T::UserIdSql>,
    {
        let mut conn = self.conn().await?;
        let count = self.bounded(conn.count(statement)).await?.map_err(store_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// The statement of an `INSERT` of `row`.
    pub(crate) fn insert(&self, row: &AccessToken<IdOf<T>>) -> StoreQuery<T::UserIdSql>
    where
        C: IdOn<T::UserIdSql>,
    {
        let key = self.statement(&self.sql.insert, vec![SqlParam::Text(row.token.clone())]);
        key.bind_id(row.user_id.clone())
            .bind_all(self.sql.insert_values(row.created_at, &row.details))
    }

    /// A statement whose only value is a user id.
    pub(crate) fn by_owner(&self, sql: &str, owner: &IdOf<T>) -> StoreQuery<T::UserIdSql>
    where
        C: IdOn<T::UserIdSql>,
    {
        self.statement(sql, vec![]).bind_id(owner.clone())
    }

    /// The `DELETE` of `token` if `owner` owns it.
    pub(crate) fn delete_statement(&self, token: &str, owner: &IdOf<T>) -> StoreQuery<T::UserIdSql>
    where
        C: IdOn<T::UserIdSql>,
    {
        let key = self.statement(&self.sql.delete, vec![SqlParam::Text(token.to_owned())]);
        key.bind_id(owner.clone())
    }

    /// The pre-rendered statements.
    pub(crate) fn sql(&self) -> &Statements {
        &self.sql
    }

    /// Why the joined read, which goes through `T`'s `table!`, cannot run on this store: it
    /// was given another table ([`with_table`](Self::with_table)) or columns `T` lacks
    /// ([`with_details`](Self::with_details)).
    pub(crate) fn joined_read_refusal(&self) -> Option<&'static str> {
        if self.custom_table {
            Some("the joined read uses the table! of its own, not with_table")
        } else if self.sql.details != T::DETAILS {
            Some(
                "the joined read needs the details columns in the table!: declare it with `, details`",
            )
        } else {
            None
        }
    }
}

impl<T, C: StoreConnection> Clone for DieselStore<T, C> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            sql: Arc::clone(&self.sql),
            timeout: self.timeout,
            custom_table: self.custom_table,
            causal_reads: self.causal_reads,
            replicas: self.replicas.clone(),
            table: PhantomData,
        }
    }
}

impl<T, C: StoreConnection> std::fmt::Debug for DieselStore<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselStore")
            .field("table", &self.sql.table)
            .field("dialect", &self.sql.dialect)
            .finish_non_exhaustive()
    }
}

/// A deadlock or a lost serialization: the transaction was rolled back and may run again.
/// (diesel-async reports MySQL's deadlock, error 1213, by its message only.)
pub(crate) fn is_serialization_failure(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => info.message().contains("Deadlock found"),
        _ => false,
    }
}

/// A database error as the core crate reports it.
pub(crate) fn store_error(error: DieselError) -> Error {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Error::DuplicateToken,
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Error::UnknownUser,
        error => Error::store(error),
    }
}

impl<T, C> AccessTokenStore for DieselStore<T, C>
where
    T: AccessTokenTable,
    C: IdOn<T::UserIdSql>,
{
    type UserId = IdOf<T>;

    async fn get(&self, token: &str) -> Result<Option<AccessToken<IdOf<T>>>> {
        let statement = || self.statement(&self.sql.get, vec![SqlParam::Text(token.to_owned())]);
        if let Some(replicas) = &self.replicas {
            let read = |pool| async move {
                let mut conn = C::take(pool).await?;
                let rows = conn.token_rows(statement()).await.map_err(store_error)?;
                Ok::<_, Error>(rows.into_iter().next().map(|row| row.0))
            };
            if let Some(row) = replicas.read(|pool| self.replica_probe(pool), read).await {
                return Ok(Some(row));
            }
        }
        Ok(self.rows(statement()).await?.into_iter().next())
    }

    // Expiry is the strategy's check on every read (a row's own `expires_at` included), and
    // `PurgeExpired` removes the dead rows.
    async fn create(
        &self,
        row: AccessToken<IdOf<T>>,
        _expires_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.execute(|| self.insert(&row)).await.map(drop)
    }

    fn columns(&self) -> TokenColumns {
        let details = if self.sql.details { TokenColumns::DETAILS } else { TokenColumns::NONE };
        TokenColumns { client: self.sql.client, ..details }
    }

    async fn record_use(&self, token: &str, used: &TokenUse) -> Result<()> {
        if !self.sql.details {
            return Ok(());
        }
        let bound = || self.sql.bound_record_use(token, used.at, used.extend_to, used.unless_since);
        self.execute(|| self.bound(bound())).await.map(drop)
    }

    async fn delete(&self, token: &str, owner: &IdOf<T>) -> Result<bool> {
        Ok(self.execute(|| self.delete_statement(token, owner)).await? > 0)
    }

    async fn delete_all_of_user(&self, owner: &IdOf<T>) -> Result<u64> {
        self.execute(|| self.by_owner(&self.sql.delete_all_of_user, owner)).await
    }
}

impl<T, C> ListTokens for DieselStore<T, C>
where
    T: AccessTokenTable,
    C: IdOn<T::UserIdSql>,
{
    async fn list_of_user(&self, owner: &IdOf<T>) -> Result<Vec<AccessToken<IdOf<T>>>> {
        let mut rows = self.rows(self.by_owner(&self.sql.list_of_user, owner)).await?;
        // The SQL orders too, but SQLite orders text, and rows written in two text forms only
        // order correctly as times.
        rows.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.token.cmp(&b.token)));
        Ok(rows)
    }

    async fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: NonZeroU32,
    ) -> Result<Vec<AccessToken<IdOf<T>>>> {
        let values = vec![
            SqlParam::Text(self.sql.key_prefix_pattern(prefix)),
            SqlParam::Int(limit.get().into()),
        ];
        let rows = self.rows(self.statement(&self.sql.list_by_key_prefix, values)).await?;
        // A case-insensitive collation may match more than the exact prefix.
        Ok(rows.into_iter().filter(|row| row.token.starts_with(prefix)).collect())
    }
}

impl<T, C> DieselStore<T, C>
where
    T: AccessTokenTable,
    C: IdOn<T::UserIdSql>,
{
    /// Deletes at most `limit` rows created strictly before `cutoff` that carry no expiry of
    /// their own, oldest first (the part of a purge by the strategy's lifetime).
    pub async fn delete_created_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> Result<u64> {
        let bound = || self.sql.bound_delete_created_before(cutoff, limit.get());
        self.execute(|| self.bound(bound())).await
    }

    /// How many rows [`delete_created_before`](Self::delete_created_before) would delete.
    pub async fn count_created_before(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        self.count(self.bound(self.sql.bound_count_created_before(cutoff))).await
    }
}

impl<T, C> PurgeExpired for DieselStore<T, C>
where
    T: AccessTokenTable,
    C: IdOn<T::UserIdSql>,
{
    async fn delete_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> Result<u64> {
        if !self.sql.details {
            return self.delete_created_before(cutoff, limit).await;
        }
        let bound = || self.sql.bound_delete_expired(now, cutoff, limit.get());
        self.execute(|| self.bound(bound())).await
    }

    async fn count_expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Result<u64> {
        if !self.sql.details {
            return self.count_created_before(cutoff).await;
        }
        self.count(self.bound(self.sql.bound_count_expired(now, cutoff))).await
    }
}
