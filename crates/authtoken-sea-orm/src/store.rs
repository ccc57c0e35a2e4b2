//! [`SeaOrmStore`]: the storage contract on any SeaORM connection.

use std::any::TypeId;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use authtoken::store::{
    AccessToken, AccessTokenStore, JoinedUserStore, ListTokens, PurgeExpired, RowWithUser,
    TokenColumns, TokenDetails, TokenUse,
};
use authtoken::{Error, Result, User};
use authtoken_sql::{DEFAULT_REPLICA_TIMEOUT, ReplicaStats, retrying_conflicts};
use chrono::{DateTime, Utc};
use sea_orm::query::{SelectA, SelectB};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, IdenStatic, ModelTrait, QueryFilter, QueryResult, QuerySelect, Related,
    SqlErr, Statement, Value,
};

use crate::AccessTokenEntity;
use crate::access_token;
use crate::binds::{as_values, dialect};
use crate::replicas::{self, Replicas};
use authtoken_sql::Statements;

/// Token rows in the table of entity `E` (any entity
/// [`access_token_entity!`](crate::access_token_entity) made), over a SeaORM connection `C`.
///
/// `C` is a [`DatabaseConnection`] (a pool) by default; a
/// [`DatabaseExecutor`](sea_orm::DatabaseExecutor) made from a caller's transaction runs every
/// call inside that transaction instead.
///
/// Each operation is one statement, rendered once when the store is made. A lookup is a
/// primary-key `SELECT`; the expiry check happens on the row it returns, so it is exact on every
/// backend whatever form a timestamp was written in.
pub struct SeaOrmStore<E = access_token::Entity, C = DatabaseConnection> {
    conn: C,
    sql: Arc<Statements>,
    custom_table: bool,
    causal_reads: bool,
    timeout: Option<Duration>,
    /// The joined read's SQL for each user model it has served, rendered by SeaORM on first use.
    joined_sql: Arc<RwLock<HashMap<TypeId, Arc<str>>>>,
    /// PostgreSQL standbys the token reads go to ([`with_read_replicas`](Self::with_read_replicas)).
    replicas: Option<Arc<Replicas>>,
    entity: PhantomData<fn() -> E>,
}

impl<E: AccessTokenEntity, C: ConnectionTrait> SeaOrmStore<E, C> {
    /// The database the connection talks to.
    pub(crate) fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// A store over `conn`, on `E`'s table.
    pub fn new(conn: C) -> Self {
        let entity = E::default();
        let table = match entity.schema_name() {
            Some(schema) => format!("{schema}.{}", entity.table_name()),
            None => entity.table_name().to_owned(),
        };
        let sql =
            Arc::new(Statements::new(dialect(conn.get_database_backend()), &table, E::DETAILS));
        Self {
            conn,
            sql,
            custom_table: false,
            causal_reads: false,
            timeout: None,
            joined_sql: Arc::default(),
            replicas: None,
            entity: PhantomData,
        }
    }

    /// Uses the table `name` (`schema.table` also works) instead of `E`'s own, for a table
    /// name known only at run time; `E` still gives the user id type.
    ///
    /// [`read_token`](authtoken::DatabaseStrategy::read_token) with [`Joined`](authtoken::Joined) joins through
    /// `E`'s SeaORM relation and refuses to run on a renamed store.
    pub fn with_table(mut self, name: &str) -> Self {
        self.render(name, self.sql.details, self.sql.client);
        self.custom_table = true;
        self
    }

    /// Renders the statements for table `name`, with or without the API-token columns and the
    /// client's.
    fn render(&mut self, name: &str, details: bool, client: bool) {
        let sql = Statements::new(dialect(self.conn.get_database_backend()), name, details);
        let sql = if client { sql.with_client_columns() } else { sql };
        self.sql = Arc::new(if self.causal_reads { sql.with_causal_reads() } else { sql });
        self.joined_sql = Arc::default();
    }

    /// Reads and writes the API-token columns (`expires_at`, `name`, `scopes`, `last_used_at`),
    /// which the table must have: [`CreateAccessTokenTable::with_details`] makes them,
    /// `AddTokenDetails` adds them (both in `authtoken-migration`). Tokens can then carry their
    /// own lifetime, a name and scopes ([`IssueOptions`](authtoken::IssueOptions)), and purge
    /// goes by each row's own expiry. [`detect_details`](Self::detect_details) turns it on when
    /// the columns are there.
    ///
    /// [`CreateAccessTokenTable::with_details`]: https://docs.rs/authtoken-migration
    pub fn with_details(mut self) -> Self {
        let table = self.sql.table.clone();
        self.render(&table, true, self.sql.client);
        self
    }

    /// Reads and writes the client's columns (`user_agent`, `address`), which the table must
    /// have: [`CreateAccessTokenTable::with_client_columns`] makes them, `AddClientColumns`
    /// adds them. Sessions then show the device and address they were opened from
    /// ([`ClientInfo`](authtoken::ClientInfo)); without them a token is issued without it.
    ///
    /// [`CreateAccessTokenTable::with_client_columns`]: https://docs.rs/authtoken-migration
    pub fn with_client_columns(mut self) -> Self {
        let table = self.sql.table.clone();
        self.render(&table, self.sql.details, true);
        self
    }

    /// Turns on [`with_details`](Self::with_details) if the table has the API-token columns,
    /// and [`with_client_columns`](Self::with_client_columns) if it has the client's, as the
    /// database's catalog lists them (works inside a transaction too). A table without them is
    /// not an error; one with only some of a group is [`Error::Schema`]; a store failure is an
    /// error.
    pub async fn detect_details(self) -> Result<Self> {
        let (sql, values) = self.sql.detail_columns();
        let details = self.sql.has_detail_columns(self.count(&sql, as_values(values)).await?)?;
        let (sql, values) = self.sql.client_columns();
        let client = self.sql.has_client_columns(self.count(&sql, as_values(values)).await?)?;
        let store = if details { self.with_details() } else { self };
        Ok(if client { store.with_client_columns() } else { store })
    }

    /// On a MariaDB Galera cluster: makes every read wait until its node has applied every
    /// write the cluster certified before it (`wsrep_sync_wait=1`, per statement), and every
    /// `DELETE`/`UPDATE` likewise (`wsrep_sync_wait=2`). A revoke or log-out-everywhere that
    /// returned through any node is then refused through every node, a fresh login is found
    /// through every node at once, and a log-out-everywhere through one node reaches the tokens
    /// whose logins returned through another. Without it a node may still answer, or delete,
    /// from before a commit on another node for a moment (a revoked token accepted, a token
    /// surviving "log out everywhere"). Reads, deletes and updates cost a little more (one round
    /// of the cluster's group communication); logins are unchanged. Other databases ignore it.
    /// [`detect_galera`](Self::detect_galera) turns it on by itself.
    pub fn with_causal_reads(mut self) -> Self {
        if self.backend() == DatabaseBackend::MySql && !self.causal_reads {
            self.sql = Arc::new(self.sql.with_causal_reads());
            self.causal_reads = true;
            self.joined_sql = Arc::default();
        }
        self
    }

    /// Asks the database whether it is a Galera node (`wsrep_on`), and if so makes reads causal
    /// ([`with_causal_reads`](Self::with_causal_reads)). A database without the variable
    /// (PostgreSQL, SQLite, MySQL) is not one.
    pub async fn detect_galera(self) -> Result<Self> {
        if self.backend() != DatabaseBackend::MySql {
            return Ok(self);
        }
        let statement = self.statement("SHOW VARIABLES LIKE 'wsrep_on'", vec![]);
        let row = self.bounded(self.conn.query_one_raw(statement)).await?;
        let on = match row {
            Some(row) => row.try_get_by_index::<String>(1).map_err(store_error)?,
            None => String::new(),
        };
        Ok(if on.eq_ignore_ascii_case("ON") { self.with_causal_reads() } else { self })
    }

    /// Whether reads are causal (see [`with_causal_reads`](Self::with_causal_reads)).
    pub fn causal_reads(&self) -> bool {
        self.causal_reads
    }

    /// Bounds every database call: one that has not answered within `timeout` (a stalled
    /// network, a locked table) fails with [`Error::Store`] instead of hanging the request.
    ///
    /// The pool's own acquire timeout (`ConnectOptions::acquire_timeout`) bounds the wait for a
    /// connection; this bounds the whole call, the statement included.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The connection the store runs its statements on.
    pub fn connection(&self) -> &C {
        &self.conn
    }

    /// Checks that the token table exists with its three columns (seven with
    /// [`with_details`](Self::with_details)) and, if it holds a row, that
    /// the row reads as `E`'s types (a `user_id` of another type shows here): an
    /// [`Error::Schema`] that names the table and the problem otherwise.
    pub async fn check_table(&self) -> Result<()> {
        let table = &self.sql.table;
        let row =
            self.bounded(self.conn.query_one_raw(self.statement(&self.sql.probe, vec![]))).await;
        let row = row.map_err(|e| Error::Schema(format!("cannot read table `{table}`: {e}")))?;
        // Only the key and the owner: one row with a garbage time must not stop every
        // command (a revoke, a purge) that never needs to read it.
        if let Some(row) = row {
            let read = row
                .try_get_by_index::<String>(0)
                .and_then(|_| row.try_get_by_index::<E::UserId>(1));
            read.map_err(|e| {
                let expected = std::any::type_name::<E::UserId>();
                Error::Schema(format!(
                    "a row of `{table}` does not read as user_id {expected}: {e}"
                ))
            })?;
        }
        Ok(())
    }

    pub(crate) fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.backend(), sql, values)
    }

    /// Runs one database call under the store's timeout, if it has one.
    async fn bounded<T>(&self, call: impl Future<Output = Result<T, DbErr>>) -> Result<T> {
        self.timed(call).await?.map_err(store_error)
    }

    /// The call's own outcome (kept as a `DbErr`, for the write retries to look at), or the
    /// timeout's error.
    pub(crate) async fn timed<T>(
        &self,
        call: impl Future<Output = Result<T, DbErr>>,
    ) -> Result<Result<T, DbErr>> {
        let Some(limit) = self.timeout else {
            return Ok(call.await);
        };
        tokio::time::timeout(limit, call)
            .await
            .map_err(|_| Error::store(format!("the database did not answer within {limit:?}")))
    }

    /// Runs a write. On MySQL/MariaDB a deadlock, or on Galera a write that lost certification
    /// to a concurrent one through another node (both SQLSTATE 40001: nothing was committed),
    /// is retried with back-off; the error surfaces only when the retries are spent.
    async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64> {
        let run = || self.timed(self.conn.execute_raw(self.statement(sql, values.clone())));
        let outcome = retrying_conflicts(run, is_serialization_failure).await?;
        outcome.map(|result| result.rows_affected()).map_err(store_error)
    }

    async fn query_one(&self, sql: &str, values: Vec<Value>) -> Result<Option<QueryResult>> {
        self.bounded(self.conn.query_one_raw(self.statement(sql, values))).await
    }

    pub(crate) fn decode(&self, row: &QueryResult) -> Result<AccessToken<E::UserId>> {
        self.decode_prefixed(row, "")
    }

    /// A row, its columns named `{prefix}{column}` (the joined read's `A_`).
    fn decode_prefixed(&self, row: &QueryResult, prefix: &str) -> Result<AccessToken<E::UserId>> {
        let model = E::Model::from_query_result(row, prefix).map_err(store_error)?;
        let mut token = E::into_access_token(model);
        if self.sql.details {
            let get = |column: &str| row.try_get::<Option<String>>(prefix, column);
            token.details = TokenDetails {
                expires_at: row.try_get(prefix, "expires_at").map_err(store_error)?,
                name: get("name").map_err(store_error)?,
                scopes: authtoken_sql::split_scopes(get("scopes").map_err(store_error)?.as_deref()),
                last_used_at: row.try_get(prefix, "last_used_at").map_err(store_error)?,
                ..TokenDetails::default()
            };
        }
        if self.sql.client {
            let get = |column: &str| row.try_get::<Option<String>>(prefix, column);
            token.details.user_agent = get("user_agent").map_err(store_error)?;
            token.details.address = get("address").map_err(store_error)?;
        }
        Ok(token)
    }
}

impl<E: AccessTokenEntity, C> SeaOrmStore<E, C> {
    /// The values of the `INSERT` of `row`.
    pub(crate) fn insert_values(&self, row: AccessToken<E::UserId>) -> Vec<Value> {
        let mut values = vec![row.token.into(), row.user_id.into()];
        let rest = self.sql.insert_values(row.created_at, &row.details);
        values.extend(as_values(rest));
        values
    }

    /// The pre-rendered statements.
    pub(crate) fn sql(&self) -> &Statements {
        &self.sql
    }
}

impl<E, C: Clone> Clone for SeaOrmStore<E, C> {
    fn clone(&self) -> Self {
        Self {
            conn: self.conn.clone(),
            sql: Arc::clone(&self.sql),
            custom_table: self.custom_table,
            causal_reads: self.causal_reads,
            timeout: self.timeout,
            joined_sql: Arc::clone(&self.joined_sql),
            replicas: self.replicas.clone(),
            entity: PhantomData,
        }
    }
}

impl<E, C> std::fmt::Debug for SeaOrmStore<E, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmStore")
            .field("entity", &std::any::type_name::<E>())
            .field("dialect", &self.sql.dialect)
            .finish_non_exhaustive()
    }
}

impl<E: AccessTokenEntity> SeaOrmStore<E, DatabaseConnection> {
    /// Sends token reads (a request's [`get`](AccessTokenStore::get) and the joined read) to
    /// `replicas`, PostgreSQL streaming standbys of this store's primary, in turn; every write
    /// and every other read stays on the primary.
    ///
    /// Revocation stays absolute: first checked here, the primary must wait for every one of
    /// `replicas` to apply each commit (`synchronous_standby_names` naming them all, `ANY n`
    /// with `n` the number of synchronous standbys or `FIRST n` with them among the first `n`;
    /// `synchronous_commit = remote_apply`), and each replica's role must see its WAL receiver
    /// (`pg_monitor`); anything else is [`Error::Replicas`], naming what is missing. Then each
    /// read first asks whether the replica streams and has replayed all it received: a replica
    /// behind (replay paused, a slow apply, cut off), a miss (a login
    /// a moment ago), a failing replica or one slower than the store's timeout (2 s without
    /// one) sends the read to the primary. [`replica_stats`](Self::replica_stats) counts both.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use authtoken_sea_orm::SeaOrmStore;
    /// use sea_orm::Database;
    ///
    /// let primary = Database::connect("postgres://app@db-primary/app").await?;
    /// let replicas = vec![
    ///     Database::connect("postgres://app@db-standby-1/app").await?,
    ///     Database::connect("postgres://app@db-standby-2/app").await?,
    /// ];
    /// let store = SeaOrmStore::<authtoken_sea_orm::access_token::Entity>::new(primary)
    ///     .with_read_replicas(replicas)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_read_replicas(mut self, replicas: Vec<DatabaseConnection>) -> Result<Self> {
        replicas::check(&self.conn, &replicas).await?;
        let timeout = self.timeout.unwrap_or(DEFAULT_REPLICA_TIMEOUT);
        self.replicas = Some(Arc::new(Replicas::new(replicas, timeout)));
        Ok(self)
    }

    /// How many token reads the replicas answered, and how many went to the primary (a miss,
    /// a replica behind, failing or slow); zero without replicas.
    pub fn replica_stats(&self) -> ReplicaStats {
        self.replicas.as_ref().map(|r| r.stats()).unwrap_or_default()
    }
}

/// A deadlock or a lost Galera certification (SQLSTATE 40001, MySQL error 1213): the
/// transaction was rolled back and may simply run again.
pub(crate) fn is_serialization_failure(error: &DbErr) -> bool {
    let source = match error {
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(source))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(source)) => source,
        _ => return false,
    };
    match source.as_database_error() {
        Some(database) => database.code().as_deref() == Some("40001"),
        None => false,
    }
}

/// A database error as the core crate reports it.
pub(crate) fn store_error(error: DbErr) -> Error {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::DuplicateToken,
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => Error::UnknownUser,
        _ => Error::store(error),
    }
}

impl<E, C> AccessTokenStore for SeaOrmStore<E, C>
where
    E: AccessTokenEntity,
    C: ConnectionTrait + Send + Sync,
{
    type UserId = E::UserId;

    async fn get(&self, token: &str) -> Result<Option<AccessToken<E::UserId>>> {
        if let Some(replicas) = &self.replicas
            && let Some(row) =
                replicas::fresh_row(replicas, &self.sql.get, vec![token.into()]).await
        {
            return Ok(Some(self.decode(&row)?));
        }
        let Some(row) = self.query_one(&self.sql.get, vec![token.into()]).await? else {
            return Ok(None);
        };
        Ok(Some(self.decode(&row)?))
    }

    // Expiry is the strategy's check on every read (a row's own `expires_at` included), and
    // `PurgeExpired` removes the dead rows.
    async fn create(
        &self,
        row: AccessToken<E::UserId>,
        _expires_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.execute(&self.sql.insert, self.insert_values(row)).await?;
        Ok(())
    }

    fn columns(&self) -> TokenColumns {
        let details = if self.sql.details { TokenColumns::DETAILS } else { TokenColumns::NONE };
        TokenColumns { client: self.sql.client, ..details }
    }

    async fn record_use(&self, token: &str, used: &TokenUse) -> Result<()> {
        if !self.sql.details {
            return Ok(());
        }
        let bound = self.sql.bound_record_use(token, used.at, used.extend_to, used.unless_since);
        self.execute(bound.sql, as_values(bound.values)).await.map(drop)
    }

    async fn delete(&self, token: &str, owner: &E::UserId) -> Result<bool> {
        let values = vec![token.into(), owner.clone().into()];
        Ok(self.execute(&self.sql.delete, values).await? > 0)
    }

    async fn delete_all_of_user(&self, owner: &E::UserId) -> Result<u64> {
        self.execute(&self.sql.delete_all_of_user, vec![owner.clone().into()]).await
    }
}

impl<E, C> ListTokens for SeaOrmStore<E, C>
where
    E: AccessTokenEntity,
    C: ConnectionTrait + Send + Sync,
{
    async fn list_of_user(&self, owner: &E::UserId) -> Result<Vec<AccessToken<E::UserId>>> {
        let statement = self.statement(&self.sql.list_of_user, vec![owner.clone().into()]);
        let rows = self.bounded(self.conn.query_all_raw(statement)).await?;
        let mut rows = rows.iter().map(|row| self.decode(row)).collect::<Result<Vec<_>>>()?;
        // The SQL orders too, but SQLite orders text, and rows written in two text forms only
        // order correctly as times.
        rows.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.token.cmp(&b.token)));
        Ok(rows)
    }

    async fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: NonZeroU32,
    ) -> Result<Vec<AccessToken<E::UserId>>> {
        let values = vec![self.sql.key_prefix_pattern(prefix).into(), limit.get().into()];
        let statement = self.statement(&self.sql.list_by_key_prefix, values);
        let rows = self.bounded(self.conn.query_all_raw(statement)).await?;
        let rows = rows.iter().map(|row| self.decode(row)).collect::<Result<Vec<_>>>()?;
        // A case-insensitive collation may match more than the exact prefix.
        Ok(rows.into_iter().filter(|row| row.token.starts_with(prefix)).collect())
    }
}

impl<E, C> SeaOrmStore<E, C>
where
    E: AccessTokenEntity,
    C: ConnectionTrait + Send + Sync,
{
    /// Deletes at most `limit` rows created strictly before `cutoff` that carry no expiry of
    /// their own, oldest first (the part of a purge by the strategy's lifetime).
    pub async fn delete_created_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> Result<u64> {
        let bound = self.sql.bound_delete_created_before(cutoff, limit.get());
        self.execute(bound.sql, as_values(bound.values)).await
    }

    /// How many rows [`delete_created_before`](Self::delete_created_before) would delete.
    pub async fn count_created_before(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let bound = self.sql.bound_count_created_before(cutoff);
        self.count(bound.sql, as_values(bound.values)).await
    }
}

impl<E, C> PurgeExpired for SeaOrmStore<E, C>
where
    E: AccessTokenEntity,
    C: ConnectionTrait + Send + Sync,
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
        let bound = self.sql.bound_delete_expired(now, cutoff, limit.get());
        self.execute(bound.sql, as_values(bound.values)).await
    }

    async fn count_expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Result<u64> {
        if !self.sql.details {
            return self.count_created_before(cutoff).await;
        }
        let bound = self.sql.bound_count_expired(now, cutoff);
        self.count(bound.sql, as_values(bound.values)).await
    }
}

impl<E: AccessTokenEntity, C: ConnectionTrait> SeaOrmStore<E, C> {
    /// Runs a `SELECT COUNT(*) AS total …`.
    async fn count(&self, sql: &str, values: Vec<Value>) -> Result<u64> {
        let row = self
            .query_one(sql, values)
            .await?
            .ok_or_else(|| Error::store("COUNT(*) returned no row"))?;
        let count: i64 = row.try_get("", "total").map_err(store_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

impl<E, C, M> JoinedUserStore<M> for SeaOrmStore<E, C>
where
    E: AccessTokenEntity + Related<M::Entity>,
    C: ConnectionTrait + Send + Sync,
    M: ModelTrait + FromQueryResult + User<Id = E::UserId> + 'static,
    M::Entity: EntityTrait<Model = M>,
{
    async fn get_with_user(&self, token: &str) -> Result<Option<RowWithUser<E::UserId, M>>> {
        if self.custom_table {
            return Err(Error::Config(
                "the joined read uses the entity's own table, not with_table",
            ));
        }
        let sql = self.joined_sql::<M>();
        let on_replica = match &self.replicas {
            Some(replicas) => replicas::fresh_row(replicas, &sql, vec![token.into()]).await,
            None => None,
        };
        let row = match on_replica {
            Some(row) => row,
            None => {
                let statement = self.statement(&sql, vec![token.into()]);
                let Some(row) = self.bounded(self.conn.query_one_raw(statement)).await? else {
                    return Ok(None);
                };
                row
            }
        };
        let token_row = self.decode_prefixed(&row, SelectA.as_str())?;
        let user = M::from_query_result_optional(&row, SelectB.as_str()).map_err(store_error)?;
        Ok(Some((token_row, user)))
    }
}

impl<E: AccessTokenEntity, C: ConnectionTrait> SeaOrmStore<E, C> {
    /// `SELECT token.*, user.* FROM token LEFT JOIN user ... WHERE token = ?`, as SeaORM's
    /// `find_also_related` writes it; built once per user model, since building it costs more
    /// than the query itself.
    fn joined_sql<M>(&self) -> Arc<str>
    where
        E: Related<M::Entity>,
        M: ModelTrait + 'static,
    {
        let key = TypeId::of::<M>();
        if let Some(sql) = self.joined_sql.read().unwrap_or_else(PoisonError::into_inner).get(&key)
        {
            return Arc::clone(sql);
        }
        let mut select =
            E::find().filter(E::token_column().eq("")).find_also_related(M::Entity::default());
        let details = if self.sql.details && !E::DETAILS {
            ["expires_at", "name", "scopes", "last_used_at"].as_slice()
        } else {
            &[]
        };
        let client = if self.sql.client { ["user_agent", "address"].as_slice() } else { &[] };
        // The entity knows three columns (seven with `details`); the others come beside them,
        // named as SeaORM names the first entity's columns.
        for &column in details.iter().chain(client) {
            let expr = sea_orm::sea_query::Expr::col((
                E::default(),
                sea_orm::sea_query::Alias::new(column),
            ));
            select = select.column_as(expr, format!("{}{column}", SelectA.as_str()));
        }
        let statement = self.backend().build(QuerySelect::query(&mut select));
        let sql: Arc<str> = if self.causal_reads {
            format!("{}{}", authtoken_sql::CAUSAL_READ, statement.sql).into()
        } else {
            statement.sql.into()
        };
        self.joined_sql
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&sql));
        sql
    }
}
