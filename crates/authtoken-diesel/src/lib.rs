//! Diesel storage for [`authtoken`]: the token table next to your own Diesel schema, on SQLite,
//! PostgreSQL and MySQL/MariaDB, through `diesel-async` and a deadpool pool.
//!
//! Declare the table beside your `users` table (it replaces the `table!` that `diesel
//! print-schema` would write for it), join it to them, and make a store over a pool:
//!
//! ```
//! # #[cfg(feature = "sqlite")] mod app {
//! pub mod schema {
//!     diesel::table! {
//!         users (id) {
//!             id -> BigInt,
//!             email -> Text,
//!         }
//!     }
//!
//!     // The user id's SQL type: Integer, BigInt, Text or Uuid.
//!     authtoken_diesel::access_token_table!(access_token, user_id = BigInt);
//!
//!     diesel::joinable!(access_token -> users (user_id));
//!     diesel::allow_tables_to_appear_in_same_query!(access_token, users);
//! }
//!
//! use authtoken_diesel::{DieselStore, SqliteConnection};
//!
//! pub fn store(pool: authtoken_diesel::Pool<SqliteConnection>)
//!     -> DieselStore<schema::access_token::table, SqliteConnection> {
//!     DieselStore::new(pool)
//! }
//! # }
//! ```
//!
//! The table itself comes from the migrations in this crate's `migrations/` folder (one set per
//! database, in Diesel's layout: copy the one for your database into your own `migrations/`, or
//! run them embedded with the `migrations` feature).
//!
//! Features, none by default: `postgres`, `mysql`, `sqlite` (one per database), `migrations`,
//! `tls-rustls` (TLS to PostgreSQL through rustls, as the URL's `sslmode` asks, read as libpq reads
//! it: `prefer` and `require` encrypt, `verify-ca` checks the certificate's chain to
//! `sslrootcert` or `~/.postgresql/root.crt`, `verify-full` its name too, and may trust the
//! public roots with `sslrootcert=system`).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
mod joined;
mod limit;
#[cfg(feature = "migrations")]
#[cfg_attr(docsrs, doc(cfg(feature = "migrations")))]
pub mod migrations;
mod pool;
mod query;
mod refresh;
#[cfg(feature = "postgres")]
mod replicas;
mod row;
pub mod sql_types;
mod store;
mod table;
#[cfg(feature = "tls-rustls")]
mod tls;
mod users;

pub use authtoken_sql::ReplicaStats;
pub use connection::{IdOn, StoreConnection};
pub use diesel_async::pooled_connection::deadpool::Pool;
pub use joined::JoinUsers;
pub use pool::connect;
pub use refresh::DieselRefreshStore;
pub use store::DieselStore;
pub use table::{AccessTokenTable, IdOf};
pub use users::{DieselUsers, LoadUser};

/// SQLite's connection as the store runs it: Diesel's synchronous connection in diesel-async's
/// wrapper (each call runs on tokio's blocking pool).
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub type SqliteConnection =
    diesel_async::sync_connection_wrapper::SyncConnectionWrapper<diesel::SqliteConnection>;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use diesel_async::AsyncPgConnection;

#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use diesel_async::AsyncMysqlConnection;

/// Declares a token table in a Diesel schema: `access_token_table!(name, user_id = Type)`,
/// `Type` the user key's SQL type (`Integer`, `BigInt`, `Text` or `Uuid`, from
/// [`sql_types`]); add `, details` for a table with the API-token columns.
///
/// It writes the table's [`table!`](diesel::table) (columns `token`, `user_id`, `created_at`,
/// and with `details` `expires_at`, `name`, `scopes`, `last_used_at`) with this crate's SQL types,
/// so one declaration serves every database, and makes the table an [`AccessTokenTable`].
/// Join it to your users with `joinable!` and `allow_tables_to_appear_in_same_query!`, as any
/// table of yours.
///
/// ```
/// mod schema {
///     authtoken_diesel::access_token_table!(access_token, user_id = Uuid);
///     authtoken_diesel::access_token_table!(api_token, user_id = Integer, details);
/// }
/// use authtoken_diesel::AccessTokenTable;
/// assert_eq!(<schema::access_token::table as AccessTokenTable>::NAME, "access_token");
/// assert!(<schema::api_token::table as AccessTokenTable>::DETAILS);
/// ```
#[macro_export]
macro_rules! access_token_table {
    ($name:ident, user_id = $id:ident) => {
        $crate::__private::diesel::table! {
            use $crate::sql_types::*;

            /// Access tokens: one row per issued token.
            $name (token) {
                /// The token's key: its hash, or in plain mode the token itself.
                token -> Text,
                /// The owner.
                user_id -> $id,
                /// When the token was issued (UTC).
                created_at -> TokenTime,
            }
        }

        impl $crate::AccessTokenTable for $name::table {
            const NAME: &'static str = stringify!($name);
            const DETAILS: bool = false;
            type UserIdSql = $crate::sql_types::$id;
            type Token = $name::token;
            type Columns = ($name::token, $name::user_id, $name::created_at);
            type Loaded = (
                String,
                <$crate::sql_types::$id as $crate::sql_types::UserIdSql>::Id,
                $crate::__private::DateTime<$crate::__private::Utc>,
            );

            fn into_access_token(
                (token, user_id, created_at): Self::Loaded,
            ) -> $crate::__private::AccessToken<$crate::IdOf<Self>> {
                $crate::__private::AccessToken::new(token, user_id, created_at)
            }
        }
    };
    ($name:ident, user_id = $id:ident, details) => {
        $crate::__private::diesel::table! {
            use $crate::sql_types::*;

            /// Access tokens: one row per issued token, with the API-token columns.
            $name (token) {
                /// The token's key: its hash, or in plain mode the token itself.
                token -> Text,
                /// The owner.
                user_id -> $id,
                /// When the token was issued (UTC).
                created_at -> TokenTime,
                /// When it stops working, if it has a lifetime of its own.
                expires_at -> Nullable<TokenTime>,
                /// A name its owner gave it.
                name -> Nullable<Text>,
                /// Its scopes, space-separated.
                scopes -> Nullable<Text>,
                /// When it was last used.
                last_used_at -> Nullable<TokenTime>,
            }
        }

        impl $crate::AccessTokenTable for $name::table {
            const NAME: &'static str = stringify!($name);
            const DETAILS: bool = true;
            type UserIdSql = $crate::sql_types::$id;
            type Token = $name::token;
            type Columns = (
                $name::token,
                $name::user_id,
                $name::created_at,
                $name::expires_at,
                $name::name,
                $name::scopes,
                $name::last_used_at,
            );
            type Loaded = (
                String,
                <$crate::sql_types::$id as $crate::sql_types::UserIdSql>::Id,
                $crate::__private::DateTime<$crate::__private::Utc>,
                Option<$crate::__private::DateTime<$crate::__private::Utc>>,
                Option<String>,
                Option<String>,
                Option<$crate::__private::DateTime<$crate::__private::Utc>>,
            );

            fn into_access_token(
                (token, user_id, created_at, expires_at, name, scopes, last_used_at): Self::Loaded,
            ) -> $crate::__private::AccessToken<$crate::IdOf<Self>> {
                let mut row = $crate::__private::AccessToken::new(token, user_id, created_at);
                row.details = $crate::__private::TokenDetails {
                    expires_at,
                    name,
                    scopes: $crate::__private::split_scopes(scopes.as_deref()),
                    last_used_at,
                    // The client's columns are for listings; the joined read leaves them out.
                    ..::core::default::Default::default()
                };
                row
            }
        }
    };
}

/// Runs `$callback!(Connection; args)` once for each connection type whose feature is on: the
/// features are this crate's, read where this macro is defined, so a schema's expansion covers
/// exactly the databases the store was built for.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_connection {
    ($callback:path; $($args:tt)*) => {
        $crate::__if_postgres! { $callback!($crate::AsyncPgConnection; $($args)*); }
        $crate::__if_mysql! { $callback!($crate::AsyncMysqlConnection; $($args)*); }
        $crate::__if_sqlite! { $callback!($crate::SqliteConnection; $($args)*); }
    };
}

#[cfg(feature = "postgres")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_postgres {
    ($($body:tt)*) => { $($body)* };
}

#[cfg(not(feature = "postgres"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_postgres {
    ($($body:tt)*) => {};
}

#[cfg(feature = "mysql")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_mysql {
    ($($body:tt)*) => { $($body)* };
}

#[cfg(not(feature = "mysql"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_mysql {
    ($($body:tt)*) => {};
}

#[cfg(feature = "sqlite")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_sqlite {
    ($($body:tt)*) => { $($body)* };
}

#[cfg(not(feature = "sqlite"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_sqlite {
    ($($body:tt)*) => {};
}

/// What [`access_token_table!`] expansions refer to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::joined::CausalRead;
    pub use authtoken::User;
    pub use authtoken::{AccessToken, TokenDetails};
    pub use authtoken_sql::{CAUSAL_READ, split_scopes};
    use authtoken_sql::{Dialect, quote};
    pub use chrono::{DateTime, Utc};
    pub use diesel;
    pub use diesel_async::RunQueryDsl;

    /// `SELECT * FROM users WHERE id = ?`, for a user table and key column.
    pub fn user_by_id(dialect: Dialect, table: &str, key: &str) -> String {
        let placeholder = if dialect == Dialect::Postgres { "$1" } else { "?" };
        format!(
            "SELECT * FROM {} WHERE {} = {placeholder}",
            quote(dialect, table),
            quote(dialect, key)
        )
    }

    /// The table's name from the path a macro was given (`schema::users` names `users`).
    pub fn last_name(path: &str) -> &str {
        path.rsplit("::").next().unwrap_or(path).trim()
    }
}
