//! [`DieselUsers`]: the user loader for users kept in a Diesel table.

use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use authtoken::{BoxError, User, UserLoader};
use diesel::QueryResult;

use crate::connection::StoreConnection;

/// A user model that can be loaded by its id over connections `C`, as
/// [`join_users!`](crate::join_users) declares it.
pub trait LoadUser<C: StoreConnection>: User + Sized {
    /// The user with `id`, if any.
    #[doc(hidden)]
    fn load_by_id(
        conn: &mut C,
        id: Self::Id,
        causal: bool,
    ) -> impl Future<Output = QueryResult<Option<Self>>> + Send;
}

/// Loads users of model `U` (declared with [`join_users!`](crate::join_users)) by primary key:
/// `SELECT users.* FROM users WHERE id = ?`, through Diesel's query builder.
///
/// ```no_run
/// # #[cfg(feature = "sqlite")] mod app {
/// # mod schema {
/// #     diesel::table! { users (id) { id -> BigInt, } }
/// #     authtoken_diesel::access_token_table!(access_token, user_id = BigInt);
/// #     diesel::joinable!(access_token -> users (user_id));
/// #     diesel::allow_tables_to_appear_in_same_query!(access_token, users);
/// # }
/// # #[derive(diesel::Queryable, diesel::QueryableByName, diesel::Selectable)]
/// # #[diesel(table_name = schema::users)]
/// # pub struct User { pub id: i64 }
/// # impl authtoken::User for User { type Id = i64; fn id(&self) -> &i64 { &self.id } }
/// # authtoken_diesel::join_users!(schema::access_token -> schema::users, User);
/// use authtoken_diesel::{DieselUsers, SqliteConnection};
/// fn users(pool: authtoken_diesel::Pool<SqliteConnection>) -> DieselUsers<User, SqliteConnection> {
///     DieselUsers::new(pool)
/// }
/// # }
/// ```
pub struct DieselUsers<U, C: StoreConnection> {
    pool: C::Pool,
    timeout: Option<Duration>,
    causal_reads: bool,
    user: PhantomData<fn() -> U>,
}

impl<U, C: StoreConnection> DieselUsers<U, C> {
    /// A loader over `pool`.
    pub fn new(pool: C::Pool) -> Self {
        Self { pool, timeout: None, causal_reads: false, user: PhantomData }
    }

    /// On a MariaDB Galera cluster: each load waits until its node has applied every write the
    /// cluster certified before it, as the store's reads do with
    /// [`DieselStore::with_causal_reads`](crate::DieselStore::with_causal_reads) (a user deleted
    /// or deactivated through one node is then seen so through every node). Other databases
    /// ignore it.
    pub fn with_causal_reads(mut self) -> Self {
        self.causal_reads = C::DIALECT == authtoken_sql::Dialect::MySql;
        self
    }

    /// Fails a load (the wait for a connection included) that takes longer than `limit`, as
    /// [`DieselStore::with_timeout`](crate::DieselStore::with_timeout) does for the token lookup.
    pub fn with_timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }
}

impl<U, C: StoreConnection> Clone for DieselUsers<U, C> {
    fn clone(&self) -> Self {
        let (timeout, causal_reads) = (self.timeout, self.causal_reads);
        Self { pool: self.pool.clone(), timeout, causal_reads, user: PhantomData }
    }
}

impl<U, C: StoreConnection> std::fmt::Debug for DieselUsers<U, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselUsers").field("user", &std::any::type_name::<U>()).finish()
    }
}

impl<U, C> UserLoader for DieselUsers<U, C>
where
    U: LoadUser<C> + Send + Sync + 'static,
    C: StoreConnection,
{
    type User = U;

    async fn load_user(&self, id: &U::Id) -> Result<Option<U>, BoxError> {
        let load = async {
            let mut conn = C::take(&self.pool).await?;
            Ok::<_, BoxError>(U::load_by_id(&mut conn, id.clone(), self.causal_reads).await?)
        };
        match self.timeout {
            None => load.await,
            Some(limit) => tokio::time::timeout(limit, load).await.map_err(|_| {
                format!("the database did not answer within {limit:?} (loading a user)")
            })?,
        }
    }
}
