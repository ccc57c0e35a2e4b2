//! Database-backed opaque access tokens: the "database strategy" of web authentication.
//!
//! A user logs in and [`DatabaseStrategy::write_token`] mints 32 random bytes, stores a row for
//! them and hands the plaintext to the client once. On every later request
//! [`DatabaseStrategy::read_token`] turns the presented token back into the user, until the token
//! expires or is revoked with [`DatabaseStrategy::destroy_token`] or
//! [`DatabaseStrategy::destroy_all_tokens`].
//!
//! This crate holds the policy, the storage contract ([`AccessTokenStore`] and its capability
//! traits [`ListTokens`], [`PurgeExpired`], [`JoinedUserStore`], [`LimitTokens`]) with an
//! in-memory store, and [`AuthStrategy`], the object-safe trait web layers (`authtoken-http`,
//! `authtoken-axum`, `authtoken-actix`) talk to. The stores live in crates of their own:
//! `authtoken-sea-orm` and `authtoken-diesel` (SQLite, PostgreSQL, MySQL/MariaDB, over the SQL of
//! `authtoken-sql`), `authtoken-redis` (Redis and Redis Cluster) and `authtoken-mongodb`.
//!
//! Tokens are hashed at rest by default, a store failure is an error rather than a silent
//! logout, malformed tokens never reach the store, logout cannot delete another user's token, and
//! expired rows can be purged in bounded batches.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth_strategy;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub mod cache;
mod client;
mod clock;
mod error;
mod hash_keys;
mod issue;
pub mod limit;
pub mod memory;
pub mod observe;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod purge;
pub mod refresh;
mod row_binding;
mod session;
mod session_strategy;
pub mod store;
mod strategy;
pub mod throttle;
pub mod token;
mod user;
mod user_source;

pub use auth_strategy::{AuthStrategy, WithUsers};
pub use client::{AddressPrecision, ClientInfo, MAX_USER_AGENT_CHARS};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{BoxError, Error, Result};
pub use hash_keys::{HashKeys, MIN_KEY_BYTES};
pub use issue::{IssueOptions, MAX_NAME_CHARS};
pub use limit::LimitTokens;
pub use session::{SESSION_ID_LEN, Session, SessionId};
pub use session_strategy::SessionStrategy;
pub use store::{
    AccessToken, AccessTokenStore, JoinedUserStore, ListTokens, PurgeExpired, TokenColumns,
    TokenDetails, TokenUse,
};
pub use strategy::{DatabaseStrategy, MAX_LIFETIME, TokenStatus};
pub use token::{PlaintextToken, StorageMode, TokenFormat};
pub use user::{User, UserId, UserLoader};
pub use user_source::{Fetched, FetchedOwner, Joined, UserSource};
