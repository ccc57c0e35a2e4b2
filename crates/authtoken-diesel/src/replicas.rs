//! Token reads on PostgreSQL streaming replicas: the start check, on Diesel connections. The
//! statements and the rules are `authtoken_sql`'s (its `ReplicaCheck` and `ReplicaSet` say
//! why revocation stays absolute); the reads themselves are the store's `get` and joined read.

use std::sync::Arc;

use authtoken::{Error, Result};
use authtoken_sql::{
    DEFAULT_REPLICA_TIMEOUT, PRIMARY_SETTINGS, REPLICA_STATE, ReplicaCheck, ReplicaSet,
    SYNCHRONOUS_STANDBYS, refuse_replicas,
};
use diesel::QueryableByName;
use diesel::sql_types::{Bool, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::connection::{IdOn, StoreConnection};
use crate::store::DieselStore;
use crate::table::AccessTokenTable;

#[derive(QueryableByName)]
struct PrimarySettings {
    #[diesel(sql_type = Bool)]
    standby: bool,
    #[diesel(sql_type = Text)]
    commit: String,
    #[diesel(sql_type = Text)]
    names: String,
}

#[derive(QueryableByName)]
struct SynchronousStandby {
    #[diesel(sql_type = Text)]
    application_name: String,
    #[diesel(sql_type = Text)]
    sync_state: String,
}

#[derive(QueryableByName)]
struct ReplicaState {
    #[diesel(sql_type = Bool)]
    standby: bool,
    #[diesel(sql_type = Bool)]
    knows: bool,
    #[diesel(sql_type = Nullable<Text>)]
    conninfo: Option<String>,
}

/// The one row `sql` returns on a connection from `pool`.
async fn one<R>(pool: &crate::Pool<AsyncPgConnection>, sql: &str) -> Result<R>
where
    R: QueryableByName<diesel::pg::Pg> + Send + 'static,
{
    let mut conn = AsyncPgConnection::take(pool).await?;
    let rows: Vec<R> = diesel::sql_query(sql).load(&mut *conn).await.map_err(Error::store)?;
    rows.into_iter().next().ok_or_else(|| Error::store(format!("`{sql}` returned no row")))
}

impl<T> DieselStore<T, AsyncPgConnection>
where
    T: AccessTokenTable,
    AsyncPgConnection: IdOn<T::UserIdSql>,
{
    /// Sends token reads (a request's [`get`](authtoken::AccessTokenStore::get) and the joined
    /// read) to `replicas`, pools on PostgreSQL streaming standbys of this store's primary, in
    /// turn; every write and every other read stays on the primary.
    ///
    /// Revocation stays absolute: first checked here, the primary must wait for every one of
    /// `replicas` to apply each commit (`synchronous_standby_names` naming them all, `ANY n`
    /// with `n` the number of synchronous standbys or `FIRST n` with them among the first `n`;
    /// `synchronous_commit = remote_apply`), and each replica's role must see its WAL receiver
    /// (`pg_monitor`); anything else is [`Error::Replicas`], naming what is missing. Then each
    /// read first asks whether the replica streams and has replayed all it received: a replica
    /// behind (replay paused, a slow apply, cut off), a miss (a login a moment ago), a failing
    /// replica or one slower than the store's timeout (2 s without one) sends the read to the
    /// primary. [`replica_stats`](Self::replica_stats) counts both.
    ///
    /// ```no_run
    /// # async fn run() -> authtoken::Result<()> {
    /// mod schema {
    ///     authtoken_diesel::access_token_table!(access_token, user_id = Uuid);
    /// }
    /// use authtoken_diesel::{AsyncPgConnection, DieselStore, connect};
    ///
    /// let primary = connect::<AsyncPgConnection>("postgres://app@db-primary/app", 16).await?;
    /// let replicas = vec![
    ///     connect::<AsyncPgConnection>("postgres://app@db-standby-1/app", 16).await?,
    ///     connect::<AsyncPgConnection>("postgres://app@db-standby-2/app", 16).await?,
    /// ];
    /// let store = DieselStore::<schema::access_token::table, AsyncPgConnection>::new(primary)
    ///     .with_read_replicas(replicas)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_read_replicas(
        mut self,
        replicas: Vec<crate::Pool<AsyncPgConnection>>,
    ) -> Result<Self> {
        refuse_replicas(true, replicas.len())?;
        let settings: PrimarySettings = one(self.pool(), PRIMARY_SETTINGS).await?;
        let standbys: Vec<SynchronousStandby> = {
            let mut conn = self.conn().await?;
            let query = diesel::sql_query(SYNCHRONOUS_STANDBYS);
            query.load(&mut *conn).await.map_err(Error::store)?
        };
        let standbys = standbys.into_iter().map(|s| (s.application_name, s.sync_state)).collect();
        let check =
            ReplicaCheck::new(settings.standby, &settings.commit, &settings.names, standbys)?;
        for (index, replica) in replicas.iter().enumerate() {
            let state: ReplicaState = one(replica, REPLICA_STATE).await?;
            check.replica(index, state.standby, state.knows, state.conninfo.as_deref())?;
        }
        let timeout = self.timeout().unwrap_or(DEFAULT_REPLICA_TIMEOUT);
        self.replicas = Some(Arc::new(ReplicaSet::new(replicas, timeout)));
        Ok(self)
    }
}
