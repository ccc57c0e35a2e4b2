//! SeaORM storage for [`authtoken`]: the `access_token` entity and [`SeaOrmStore`], on SQLite,
//! PostgreSQL and MySQL/MariaDB.
//!
//! ```no_run
//! use std::time::Duration;
//! use authtoken::DatabaseStrategy;
//! use authtoken_sea_orm::{SeaOrmStore, access_token};
//!
//! # async fn run(db: sea_orm::DatabaseConnection) -> authtoken::Result<()> {
//! // UUID user ids:
//! let strategy = DatabaseStrategy::new(SeaOrmStore::<access_token::Entity>::new(db.clone()), Some(Duration::from_secs(3600)))?;
//! // i64 user ids:
//! let strategy = DatabaseStrategy::new(SeaOrmStore::<access_token::Entity<i64>>::new(db), None)?;
//! # Ok(())
//! # }
//! ```
//!
//! The table comes from the `authtoken-migration` crate.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod access_token;
mod binds;
mod entity;
mod limit;
mod refresh;
mod replicas;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub mod revocations;
mod store;
mod throttle;
pub mod tls;
mod users;

pub use authtoken_sql::ReplicaStats;
pub use entity::AccessTokenEntity;
pub use refresh::SeaOrmRefreshStore;
pub use store::SeaOrmStore;
pub use throttle::{DEFAULT_THROTTLE_TABLE, SeaOrmThrottle};
pub use users::SeaOrmUsers;

/// What [`access_token_entity!`] expansions refer to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use authtoken::{AccessToken, TokenDetails};
    pub use chrono::{DateTime, Utc};
    pub use sea_orm;

    pub use authtoken_sql::{join_scopes, split_scopes};
}
