//! MongoDB storage for [`authtoken`]: one document per token, on the official `mongodb` driver.
//!
//! ```no_run
//! use std::time::Duration;
//! use authtoken::DatabaseStrategy;
//! use authtoken_mongodb::MongoStore;
//! use mongodb::bson::oid::ObjectId;
//!
//! # async fn run() -> authtoken::Result<()> {
//! let store = MongoStore::<ObjectId>::connect("mongodb://127.0.0.1:27017/app").await?;
//! store.ensure_indexes().await?;
//! let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;
//! # Ok(()) }
//! ```
//!
//! Tested against NX-27017, a MongoDB wire-protocol server (no MongoDB server installs on the
//! machines this crate is tested on), not against MongoDB itself: the conformance suite, the
//! Beanie interop with fastapi-users and the outage tests run there. NX-27017 loses BSON binary
//! subtypes, so the tests keep UUIDs as text ([`UuidRepresentation::String`]).
//!
//! ## Documents
//! On the [native layout](Layout::native), collection `access_token`:
//! `{_id: <stored key>, user_id: <the user's id>, created_at: <BSON date>}`, plus the API-token
//! fields when a token has them (`expires_at`, `name`, `scopes` as an array, `last_used_at`) and
//! `drop_after` with [`MongoStore::with_ttl_index`]. The user id keeps the application's type
//! ([`MongoUserId`]: ObjectId, UUID as binary subtype 4, `i64`, `i32`, `String`). Indexes
//! ([`MongoStore::ensure_indexes`]): the user, the creation time, and the TTL index if asked.
//! BSON dates keep milliseconds, so a token's lifetime is counted from its creation time
//! truncated to the millisecond.
//!
//! Refresh tokens ([`MongoRefreshStore`]) are one document per family in `refresh_family`, found
//! through `refresh_index`.
//!
//! ## Sharing tokens with fastapi-users
//! [`Layout::beanie`] is fastapi-users-db-beanie's `AccessToken` collection; with the strategy in
//! plain mode, tokens written by either side authenticate on both:
//!
//! ```no_run
//! # use std::time::Duration;
//! use authtoken::{DatabaseStrategy, StorageMode};
//! use authtoken_mongodb::{Layout, MongoStore};
//! use mongodb::bson::oid::ObjectId;
//!
//! # async fn run() -> authtoken::Result<()> {
//! let store = MongoStore::<ObjectId>::connect("mongodb://127.0.0.1:27017/app").await?
//!     .with_layout(Layout::beanie());
//! let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?
//!     .with_storage_mode(StorageMode::Plain);
//! # Ok(()) }
//! ```

mod documents;
mod layout;
mod limit;
mod refresh;
mod store;
mod user_id;

pub use layout::Layout;
pub use mongodb;
pub use refresh::{MongoRefreshStore, REFRESH_COLLECTION, REFRESH_INDEX_COLLECTION};
pub use store::MongoStore;
pub use user_id::{MongoUserId, UuidRepresentation};
