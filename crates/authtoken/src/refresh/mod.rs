//! Refresh tokens with rotation and reuse detection (RFC 9700, refresh token rotation): short
//! access tokens, a long-lived refresh token spent on every use, and a spent one presented again
//! treated as theft, ending its whole family.
//!
//! [`RefreshStrategy`] pairs a [`DatabaseStrategy`](crate::DatabaseStrategy) (the access tokens)
//! with a [`RefreshStore`]; [`MemoryRefreshStore`] keeps the refresh tokens in memory;
//! [`RefreshTokens`] is what the web layer's `POST /refresh` holds.

mod keys;
mod memory;
mod store;
mod strategy;
mod tokens;

pub use memory::MemoryRefreshStore;
pub use store::{RefreshRow, RefreshStore};
pub use strategy::{RefreshPolicy, RefreshRefusal, RefreshStrategy, Refreshed, TokenPair};
pub use tokens::RefreshTokens;
