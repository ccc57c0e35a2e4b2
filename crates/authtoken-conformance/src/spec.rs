//! The behavioural spec: every function is one test, generic over the backend.
//!
//! Time is a [`ManualClock`], so expiry boundaries are exact; every store is wrapped in a
//! [`FaultyStore`] so a test can count the calls that reach it or make them fail.
//!
//! The functions are grouped as the macros run them: [`conformance_suite!`](crate::conformance_suite)
//! runs `reading`, `revoking`, `storage` and `failures` on every store; the groups `listing`
//! ([`ListTokens`](authtoken::ListTokens)) and `purging` ([`PurgeExpired`](authtoken::PurgeExpired))
//! run where the store has the capability.

mod details;
mod failures;
mod limiting;
mod listing;
mod purging;
mod reading;
mod refresh;
mod revoking;
mod sessions;
mod storage;
mod token_format;

use std::sync::Arc;
use std::time::Duration;

use authtoken::store::{AccessToken, AccessTokenStore};
use authtoken::token::TOKEN_LEN;
use authtoken::{DatabaseStrategy, ManualClock, StorageMode, User};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub use details::*;
pub use failures::*;
pub use limiting::*;
pub use listing::*;
pub use purging::*;
pub use reading::*;
pub use refresh::*;
pub use revoking::*;
pub use sessions::*;
pub use storage::*;
pub use token_format::*;

use crate::Backend;
use crate::faults::{FaultyStore, Probe};

/// The lifetime most tests use.
pub const LIFETIME: Duration = Duration::from_secs(3600);

/// A strategy under test, with its clock and the probe on its store.
pub struct Harness<S: authtoken::AccessTokenStore> {
    /// The strategy, over the backend's store wrapped in a [`FaultyStore`].
    pub strategy: DatabaseStrategy<FaultyStore<S>>,
    /// The strategy's clock.
    pub clock: ManualClock,
    /// Counts and fails the store's calls.
    pub probe: Arc<Probe>,
}

/// Builds a strategy over the backend's store, its clock set to noon on 2026-01-01 UTC.
pub fn harness<B: Backend>(
    backend: &B,
    lifetime: Option<Duration>,
    mode: StorageMode,
) -> Harness<B::Store> {
    let clock = ManualClock::new(start_time());
    let store = FaultyStore::new(backend.store());
    let probe = store.probe();
    let strategy = DatabaseStrategy::new(store, lifetime)
        .expect("a valid configuration")
        .with_storage_mode(mode)
        .with_clock(clock.clone());
    Harness { strategy, clock, probe }
}

/// Where every harness's clock starts: noon on 2026-01-01 UTC.
pub fn start_time() -> DateTime<Utc> {
    "2026-01-01T12:00:00Z".parse().expect("a valid timestamp")
}

fn hashed<B: Backend>(b: &B) -> Harness<B::Store> {
    harness(b, Some(LIFETIME), StorageMode::Hashed)
}

/// base64url(SHA-256(text)), computed here rather than by the code under test.
pub fn sha256_base64url(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// base64url(HMAC-SHA-256(key, text)), computed here rather than by the code under test.
pub fn hmac_base64url(key: &[u8], text: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(text.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A token as another program (fastapi-users) would mint it: 32 random bytes, base64url.
pub fn foreign_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random numbers");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The id of the user `token` authenticates, if any; panics on an error.
async fn reader<B: Backend, S>(b: &B, h: &Harness<S>, token: &str) -> Option<<B::User as User>::Id>
where
    S: AccessTokenStore<UserId = <B::User as User>::Id>,
{
    h.strategy.read_token(token, b.users()).await.expect("read_token").map(|(u, _)| u.id().clone())
}

async fn login<B: Backend, S>(h: &Harness<S>, user: &B::User) -> String
where
    S: AccessTokenStore<UserId = <B::User as User>::Id>,
{
    h.strategy.write_token(user).await.expect("write_token").into_secret()
}

/// The row stored for `token` (looked up by the key the harness's mode stores), expired or not.
async fn row_of<S: AccessTokenStore>(
    h: &Harness<S>,
    token: &str,
) -> Option<AccessToken<S::UserId>> {
    let key = match h.strategy.storage_mode() {
        StorageMode::Hashed => sha256_base64url(token),
        StorageMode::Plain => token.to_owned(),
    };
    h.strategy.store().get(&key).await.expect("get")
}

/// Strings that cannot be tokens: each must be refused before any query.
pub fn malformed_tokens() -> Vec<String> {
    let valid = foreign_token();
    vec![
        String::new(),
        " ".into(),
        " ".repeat(TOKEN_LEN),
        "a".repeat(TOKEN_LEN - 1),
        "a".repeat(TOKEN_LEN + 1),
        "a".repeat(1 << 20),
        format!("{}\n", &valid[..TOKEN_LEN - 1]),
        format!("{valid}\n"),
        format!(" {valid}"),
        format!("Bearer {valid}"),
        format!("{}=", &valid[..TOKEN_LEN - 1]),
        format!("{}+", &valid[..TOKEN_LEN - 1]),
        format!("{}/", &valid[..TOKEN_LEN - 1]),
        format!("{}\0", &valid[..TOKEN_LEN - 1]),
        "' OR '1'='1' --                            ".into(),
        "'; DROP TABLE access_token; --".into(),
        "é".repeat(21) + "a",
        "\u{1F600}".repeat(10) + "abc",
    ]
}
