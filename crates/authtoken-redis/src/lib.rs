//! Redis storage for [`authtoken`]: each token a key with the token's remaining lifetime as its
//! TTL, on one Redis or on a Redis Cluster.
//!
//! ```no_run
//! use std::time::Duration;
//! use authtoken::DatabaseStrategy;
//! use authtoken_redis::RedisStore;
//!
//! # async fn run() -> authtoken::Result<()> {
//! let store = RedisStore::<u64>::connect("redis://127.0.0.1:6379").await?;
//! // or a cluster: RedisStore::connect("redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003")
//! let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;
//! # Ok(()) }
//! ```
//!
//! ## Keys
//! - `{prefix}{stored key}` (default prefix `authtoken:`): the value `{created_at µs}:{user id}`
//!   (or the user id alone, fastapi-users' format: [`ValueFormat`]), the TTL the token's
//!   lifetime in milliseconds (none for tokens that never expire).
//! - `{prefix}user:{user id}`: a set of the user's token keys, for "log out everywhere". Its TTL
//!   is never shorter than its longest-lived token's, so it never outlives its tokens by more than
//!   that; members whose token has expired are removed when the set is next read.
//! - `{prefix}refresh:…`: refresh tokens ([`RedisRefreshStore`]), each family one hash.
//!
//! Expired keys go by themselves: there is nothing to purge, so this store does not implement
//! [`PurgeExpired`](authtoken::PurgeExpired).
//!
//! ## Atomicity
//! Every command touches one key, or one key and a script on that key, so each step is atomic on
//! one node and on a cluster alike. Two steps are not atomic together on a cluster (the token and
//! the index live in different slots): a login adds the index member before it writes the token,
//! and "log out everywhere" reads the index and deletes each token only if it still belongs to the
//! user. Hence: after `delete_all_of_user` returns, no token whose login had returned before it
//! started authenticates.

//!
//! ## Caching
//! Every delete is announced on the pub/sub channel `{prefix}revocations` by the script that
//! deletes. With the `cache` feature, `RedisRevocations` keeps an
//! `authtoken::cache::CachedStore` in front of this store current from it, on one Redis or on
//! every primary of a cluster.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod cluster_url;
mod keys;
mod limit;
mod refresh;
#[cfg(feature = "cache")]
mod revocations;
mod store;
mod throttle;

pub use keys::ValueFormat;
pub use refresh::RedisRefreshStore;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use revocations::RedisRevocations;
pub use store::{DEFAULT_PREFIX, RedisStore};
pub use throttle::RedisThrottle;
