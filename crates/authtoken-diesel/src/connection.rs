//! The connections the store runs on, one per database: what the store's generic code needs of
//! each, written once per connection type (so that Diesel's bounds are checked here, on concrete
//! types, rather than spelled out on every method of the store).

use std::future::Future;

use authtoken_sql::Dialect;
use diesel::QueryResult;
use diesel::deserialize::QueryableByName;
use diesel::query_builder::QueryFragment;
use diesel_async::AsyncConnection;
use diesel_async::pooled_connection::PoolableConnection;

use crate::query::StoreQuery;
use crate::row::{Count, FamilyId, Fresh, OwnerRowOf, RefreshRowOf, TokenRow};
use crate::sql_types::UserIdSql;

mod sealed {
    pub trait Sealed {}
}

/// A diesel-async connection a [`DieselStore`](crate::DieselStore) runs on:
/// `AsyncPgConnection` (feature `postgres`), `AsyncMysqlConnection` (`mysql`) or
/// `SyncConnectionWrapper<SqliteConnection>` (`sqlite`, [`SqliteConnection`](crate::SqliteConnection)).
///
/// Sealed: the store's SQL is written for these three databases.
pub trait StoreConnection:
    AsyncConnection + PoolableConnection + sealed::Sealed + Send + 'static
{
    /// The SQL dialect of this database.
    const DIALECT: Dialect;

    /// `Pool<Self>`: a deadpool pool of these connections (named here, where Diesel can check
    /// that it is one).
    type Pool: Clone + Send + Sync + 'static;

    /// A connection taken from the pool.
    #[doc(hidden)]
    type Pooled: std::ops::DerefMut<Target = Self> + Send;

    /// Takes a connection from `pool`.
    #[doc(hidden)]
    fn take(
        pool: &Self::Pool,
    ) -> impl Future<Output = Result<Self::Pooled, authtoken::Error>> + Send;

    /// A pool of at most `max_size` connections to `url`, each made by [`open`](Self::open).
    #[doc(hidden)]
    fn pool(url: &str, max_size: usize) -> Result<Self::Pool, authtoken::Error>;

    /// Opens a connection set up for the store (see [`connect`](crate::connect)).
    #[doc(hidden)]
    fn open(url: &str) -> impl Future<Output = diesel::ConnectionResult<Self>> + Send;

    /// Begins the transaction of a limited login: at `READ COMMITTED` on PostgreSQL, at
    /// `REPEATABLE READ` on MySQL/MariaDB, `BEGIN IMMEDIATE` on SQLite (see the limit's text).
    #[doc(hidden)]
    fn begin_locking_transaction(&mut self) -> impl Future<Output = QueryResult<()>> + Send;

    /// Whether the server is a Galera node with replication on (`wsrep_on`).
    #[doc(hidden)]
    fn is_galera_node(&mut self) -> impl Future<Output = QueryResult<bool>> + Send;
}

macro_rules! store_connection {
    ($feature:literal, $connection:ty, $dialect:expr, $establish:expr, $setup:expr, $begin:path, $galera:path) => {
        #[cfg(feature = $feature)]
        impl sealed::Sealed for $connection {}

        #[cfg(feature = $feature)]
        impl StoreConnection for $connection {
            const DIALECT: Dialect = $dialect;

            type Pool = diesel_async::pooled_connection::deadpool::Pool<Self>;
            type Pooled = diesel_async::pooled_connection::deadpool::Object<Self>;

            async fn take(pool: &Self::Pool) -> Result<Self::Pooled, authtoken::Error> {
                pool.get().await.map_err(authtoken::Error::store)
            }

            fn pool(url: &str, max_size: usize) -> Result<Self::Pool, authtoken::Error> {
                use diesel_async::pooled_connection::{
                    AsyncDieselConnectionManager, ManagerConfig,
                };
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(|url| Box::pin(Self::open(url)));
                let manager = AsyncDieselConnectionManager::<Self>::new_with_config(url, config);
                let builder = diesel_async::pooled_connection::deadpool::Pool::builder(manager);
                builder.max_size(max_size).build().map_err(authtoken::Error::store)
            }

            async fn open(url: &str) -> diesel::ConnectionResult<Self> {
                let mut conn = $establish(url).await?;
                let setup: &str = $setup;
                if !setup.is_empty() {
                    diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, setup)
                        .await
                        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                }
                Ok(conn)
            }

            fn begin_locking_transaction(
                &mut self,
            ) -> impl Future<Output = QueryResult<()>> + Send {
                $begin(self)
            }

            fn is_galera_node(&mut self) -> impl Future<Output = QueryResult<bool>> + Send {
                $galera(self)
            }
        }
    };
}

store_connection!(
    "postgres",
    diesel_async::AsyncPgConnection,
    Dialect::Postgres,
    establish_postgres,
    "",
    begin_postgres,
    not_galera
);
// diesel-async's MySQL connection sets the session to UTC itself.
store_connection!(
    "mysql",
    diesel_async::AsyncMysqlConnection,
    Dialect::MySql,
    <diesel_async::AsyncMysqlConnection as AsyncConnection>::establish,
    "",
    begin_mysql,
    mysql_galera
);
store_connection!(
    "sqlite",
    crate::SqliteConnection,
    Dialect::Sqlite,
    <crate::SqliteConnection as AsyncConnection>::establish,
    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;",
    begin_sqlite,
    not_galera
);

/// A PostgreSQL connection, over TLS when the URL's `sslmode` asks (feature `tls-rustls`).
#[cfg(feature = "postgres")]
async fn establish_postgres(
    url: &str,
) -> diesel::ConnectionResult<diesel_async::AsyncPgConnection> {
    #[cfg(feature = "tls-rustls")]
    return crate::tls::establish(url).await;
    #[cfg(not(feature = "tls-rustls"))]
    {
        // Without a TLS stack tokio-postgres would only say its handshake failed.
        let asks = ["sslmode=require", "sslmode=verify-ca", "sslmode=verify-full"];
        if asks.iter().any(|mode| url.contains(mode)) {
            let message = "this sslmode needs authtoken-diesel's `tls-rustls` feature".to_owned();
            return Err(diesel::ConnectionError::InvalidConnectionUrl(message));
        }
        <diesel_async::AsyncPgConnection as AsyncConnection>::establish(url).await
    }
}

#[cfg(feature = "postgres")]
async fn begin_postgres(conn: &mut diesel_async::AsyncPgConnection) -> QueryResult<()> {
    let sql = "BEGIN ISOLATION LEVEL READ COMMITTED";
    diesel_async::AnsiTransactionManager::begin_transaction_sql(conn, sql).await
}

#[cfg(feature = "mysql")]
async fn begin_mysql(conn: &mut diesel_async::AsyncMysqlConnection) -> QueryResult<()> {
    // Applies to the next transaction only (InnoDB's default level, unless the server says
    // otherwise).
    let level = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ";
    diesel_async::SimpleAsyncConnection::batch_execute(conn, level).await?;
    diesel_async::AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN").await
}

/// PostgreSQL and SQLite have no Galera.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
async fn not_galera<C: Send>(_: &mut C) -> QueryResult<bool> {
    Ok(false)
}

/// `SHOW VARIABLES LIKE 'wsrep_on'`: `ON` on a Galera node; no row on MySQL, `OFF` on a
/// MariaDB outside a cluster.
#[cfg(feature = "mysql")]
async fn mysql_galera(conn: &mut diesel_async::AsyncMysqlConnection) -> QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct Variable {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = Value)]
        value: String,
    }
    let query = diesel::sql_query("SHOW VARIABLES LIKE 'wsrep_on'");
    let rows: Vec<Variable> = diesel_async::RunQueryDsl::load(query, conn).await?;
    Ok(rows.iter().any(|row| row.value.eq_ignore_ascii_case("ON")))
}

#[cfg(feature = "sqlite")]
async fn begin_sqlite(conn: &mut crate::SqliteConnection) -> QueryResult<()> {
    // Through the wrapped connection's own transaction manager, which the wrapper's reports.
    conn.spawn_blocking(|conn| {
        diesel::connection::AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")
    })
    .await
}

/// A connection that runs the store's statements on a table whose user ids have SQL type `S`
/// (every [`StoreConnection`], for every [`UserIdSql`](crate::sql_types::UserIdSql) its database
/// has).
pub trait IdOn<S: UserIdSql>: StoreConnection {
    /// Runs a statement that returns no rows; how many rows it changed.
    #[doc(hidden)]
    fn run(&mut self, query: StoreQuery<S>) -> impl Future<Output = QueryResult<usize>> + Send;

    /// Runs a query of token rows.
    #[doc(hidden)]
    fn token_rows(
        &mut self,
        query: StoreQuery<S>,
    ) -> impl Future<Output = QueryResult<Vec<TokenRow<S>>>> + Send;

    /// Runs a query of token rows and reads only their keys and owners; how many rows.
    #[doc(hidden)]
    fn owner_rows(
        &mut self,
        query: StoreQuery<S>,
    ) -> impl Future<Output = QueryResult<usize>> + Send;

    /// Runs a `SELECT COUNT(*) AS total …`; its count.
    #[doc(hidden)]
    fn count(&mut self, query: StoreQuery<S>) -> impl Future<Output = QueryResult<i64>> + Send;

    /// Runs a query of refresh-token rows.
    #[doc(hidden)]
    fn refresh_rows(
        &mut self,
        query: StoreQuery<S>,
    ) -> impl Future<Output = QueryResult<Vec<RefreshRowOf<S>>>> + Send;

    /// Runs a query of family ids (a column named `family`).
    #[doc(hidden)]
    fn family_ids(
        &mut self,
        query: StoreQuery<S>,
    ) -> impl Future<Output = QueryResult<Vec<String>>> + Send;

    /// Runs a replica's freshness probe (`authtoken_sql::FRESHNESS_PROBE`, PostgreSQL only):
    /// whether it streams and has replayed all it received (`None` where it cannot tell).
    #[doc(hidden)]
    fn replica_is_fresh(&mut self) -> impl Future<Output = QueryResult<Option<bool>>> + Send;
}

impl<C, S> IdOn<S> for C
where
    C: StoreConnection,
    S: UserIdSql,
    StoreQuery<S>: QueryFragment<C::Backend>,
    TokenRow<S>: QueryableByName<C::Backend>,
    OwnerRowOf<S>: QueryableByName<C::Backend>,
    Count: QueryableByName<C::Backend>,
    RefreshRowOf<S>: QueryableByName<C::Backend>,
    FamilyId: QueryableByName<C::Backend>,
    Fresh: QueryableByName<C::Backend>,
{
    fn run(&mut self, query: StoreQuery<S>) -> impl Future<Output = QueryResult<usize>> + Send {
        diesel_async::RunQueryDsl::execute(query, self)
    }

    fn token_rows(
        &mut self,
        query: StoreQuery<S>,
    ) -> impl Future<Output = QueryResult<Vec<TokenRow<S>>>> + Send {
        diesel_async::RunQueryDsl::load(query, self)
    }

    async fn owner_rows(&mut self, query: StoreQuery<S>) -> QueryResult<usize> {
        let rows: Vec<OwnerRowOf<S>> = diesel_async::RunQueryDsl::load(query, self).await?;
        Ok(rows.len())
    }

    async fn count(&mut self, query: StoreQuery<S>) -> QueryResult<i64> {
        let rows: Vec<Count> = diesel_async::RunQueryDsl::load(query, self).await?;
        rows.first().map(|row| row.total).ok_or(diesel::result::Error::NotFound)
    }

    fn refresh_rows(
        &mut self,
        query: StoreQuery<S>,
    ) -> impl Future<Output = QueryResult<Vec<RefreshRowOf<S>>>> + Send {
        diesel_async::RunQueryDsl::load(query, self)
    }

    async fn family_ids(&mut self, query: StoreQuery<S>) -> QueryResult<Vec<String>> {
        let rows: Vec<FamilyId> = diesel_async::RunQueryDsl::load(query, self).await?;
        Ok(rows.into_iter().map(|row| row.family).collect())
    }

    async fn replica_is_fresh(&mut self) -> QueryResult<Option<bool>> {
        let probe = StoreQuery::<S>::new(authtoken_sql::FRESHNESS_PROBE);
        let rows: Vec<Fresh> = diesel_async::RunQueryDsl::load(probe, self).await?;
        Ok(rows.into_iter().next().and_then(|row| row.authtoken_replica_fresh))
    }
}
