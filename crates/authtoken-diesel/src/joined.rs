//! The joined read: a token and its user in one query, through the `joinable!` and
//! `allow_tables_to_appear_in_same_query!` the schema declares:
//! `SELECT token.*, users.* FROM token LEFT JOIN users ON … WHERE token.token = ?`, built by
//! Diesel's query builder from the user model's `Selectable`.

use std::future::Future;

use authtoken::store::{JoinedUserStore, RowWithUser};
use authtoken::{Error, Result, User};
use authtoken_sql::CAUSAL_READ;
use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

use crate::connection::{IdOn, StoreConnection};
use crate::store::{DieselStore, store_error};
use crate::table::{AccessTokenTable, IdOf};

/// A token table joined to the users of model `U` (over connections `C`), as
/// [`join_users!`](crate::join_users) declares it.
pub trait JoinUsers<U, C: StoreConnection>: AccessTokenTable {
    /// The row of `key` and its user, if any.
    #[doc(hidden)]
    fn load_with_user(
        conn: &mut C,
        key: String,
        causal: bool,
    ) -> impl Future<Output = QueryResult<Vec<(Self::Loaded, Option<U>)>>> + Send;
}

/// A query run as `SET STATEMENT wsrep_sync_wait=1 FOR <query>`: the joined read of a causal
/// store on Galera (see [`DieselStore::with_causal_reads`]).
#[doc(hidden)]
pub struct CausalRead<Q>(pub Q);

impl<Q: Query> Query for CausalRead<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> QueryId for CausalRead<Q> {
    type QueryId = ();
    // Not static: the statement cache keys it by its SQL, apart from the plain query's.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for CausalRead<Q> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        pass.push_sql(CAUSAL_READ);
        self.0.walk_ast(pass.reborrow())
    }
}

impl<T, C, U> JoinedUserStore<U> for DieselStore<T, C>
where
    T: JoinUsers<U, C>,
    C: IdOn<T::UserIdSql>,
    U: User<Id = IdOf<T>> + Send + 'static,
{
    async fn get_with_user(&self, token: &str) -> Result<Option<RowWithUser<IdOf<T>, U>>> {
        if let Some(refusal) = self.joined_read_refusal() {
            return Err(Error::Config(refusal));
        }
        if let Some(replicas) = &self.replicas {
            let read = |pool| async move {
                let mut conn = C::take(pool).await?;
                let rows = T::load_with_user(&mut conn, token.to_owned(), false).await;
                Ok::<_, Error>(rows.map_err(store_error)?.into_iter().next())
            };
            if let Some((row, user)) = replicas.read(|pool| self.replica_probe(pool), read).await {
                return Ok(Some((T::into_access_token(row), user)));
            }
        }
        let mut conn = self.conn().await?;
        let load = T::load_with_user(&mut conn, token.to_owned(), self.causal_reads());
        let rows = self.bounded(load).await?;
        let Some((row, user)) = rows.map_err(store_error)?.into_iter().next() else {
            return Ok(None);
        };
        let row = T::into_access_token(row);
        Ok(Some((row, user)))
    }
}

/// Declares the joined read of a token table and a user table: `join_users!(access_token ->
/// users, User)`, `User` the model the strategy returns (`Selectable` on `users`). Put it beside
/// the schema's `joinable!(access_token -> users (user_id))` and
/// `allow_tables_to_appear_in_same_query!(access_token, users)`: the read is then one query,
/// `SELECT access_token.*, users.* FROM access_token LEFT JOIN users … WHERE token = ?`, and
/// [`DatabaseStrategy::read_token`](authtoken::DatabaseStrategy::read_token) with [`Joined`](authtoken::Joined)
/// runs it.
///
/// ```
/// # #[cfg(feature = "sqlite")] mod app {
/// mod schema {
///     diesel::table! {
///         users (id) {
///             id -> BigInt,
///             email -> Text,
///         }
///     }
///     authtoken_diesel::access_token_table!(access_token, user_id = BigInt);
///     diesel::joinable!(access_token -> users (user_id));
///     diesel::allow_tables_to_appear_in_same_query!(access_token, users);
/// }
///
/// #[derive(diesel::Queryable, diesel::QueryableByName, diesel::Selectable)]
/// #[diesel(table_name = schema::users)]
/// pub struct User {
///     pub id: i64,
///     pub email: String,
/// }
///
/// impl authtoken::User for User {
///     type Id = i64;
///     fn id(&self) -> &i64 {
///         &self.id
///     }
/// }
///
/// authtoken_diesel::join_users!(schema::access_token -> schema::users, User);
/// # }
/// ```
#[macro_export]
macro_rules! join_users {
    ($($token:ident)::+ -> $($users:ident)::+, $user:ty) => {
        $crate::__for_each_connection!($crate::__join_users_on; $($token)::+, $($users)::+, $user);
    };
}

/// The impls of [`join_users!`] for one connection type.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_users_on {
    ($conn:ty; $($token:ident)::+, $($users:ident)::+, $user:ty) => {
        impl $crate::JoinUsers<$user, $conn> for $($token)::+::table {
            fn load_with_user(
                conn: &mut $conn,
                key: String,
                causal: bool,
            ) -> impl ::std::future::Future<
                Output = $crate::__private::diesel::QueryResult<
                    Vec<(<Self as $crate::AccessTokenTable>::Loaded, Option<$user>)>,
                >,
            > + Send {
                use $crate::__private::diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
                let query = $($token)::+::table
                    .left_join($($users)::+::table)
                    .filter($($token)::+::token.eq(key))
                    .select((
                        <<Self as $crate::AccessTokenTable>::Columns as Default>::default(),
                        Option::<$user>::as_select(),
                    ));
                async move {
                    match causal {
                        true => {
                            let query = $crate::__private::CausalRead(query);
                            $crate::__private::RunQueryDsl::load(query, conn).await
                        }
                        false => $crate::__private::RunQueryDsl::load(query, conn).await,
                    }
                }
            }
        }

        impl $crate::LoadUser<$conn> for $user {
            async fn load_by_id(
                conn: &mut $conn,
                id: <$user as $crate::__private::User>::Id,
                causal: bool,
            ) -> $crate::__private::diesel::QueryResult<Option<$user>> {
                type Key = <$($users)::+::table as $crate::__private::diesel::Table>::PrimaryKey;
                type KeyType = <Key as $crate::__private::diesel::Expression>::SqlType;
                let sql = $crate::__private::user_by_id(
                    <$conn as $crate::StoreConnection>::DIALECT,
                    $crate::__private::last_name(stringify!($($users)::+)),
                    <Key as $crate::__private::diesel::Column>::NAME,
                );
                let sql = match causal {
                    true => format!("{}{sql}", $crate::__private::CAUSAL_READ),
                    false => sql,
                };
                let query = $crate::__private::diesel::sql_query(sql).bind::<KeyType, _>(id);
                let rows: Vec<$user> = $crate::__private::RunQueryDsl::load(query, conn).await?;
                Ok(rows.into_iter().next())
            }
        }
    };
}
