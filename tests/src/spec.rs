//! The behavioural spec: every function is one test, generic over the backend.
//!
//! Time is a [`ManualClock`], so expiry boundaries are exact; every store is wrapped in a
//! [`FaultyStore`] so a test can count the calls that reach it or make them fail.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use authtoken::store::{AccessToken, AccessTokenStore};
use authtoken::token::TOKEN_LEN;
use authtoken::{
    DatabaseStrategy, Error, ManualClock, PlaintextToken, StorageMode, TokenStatus, User,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::Backend;
use crate::faults::{BrokenUsers, FaultyStore, Probe};

/// The lifetime most tests use.
pub const LIFETIME: Duration = Duration::from_secs(3600);

/// A strategy under test, with its clock and the probe on its store.
pub struct Harness<S> {
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

fn start_time() -> DateTime<Utc> {
    "2026-01-01T12:00:00Z".parse().expect("a valid timestamp")
}

fn hashed<B: Backend>(b: &B) -> Harness<B::Store> {
    harness(b, Some(LIFETIME), StorageMode::Hashed)
}

/// base64url(SHA-256(text)), computed here rather than by the code under test.
pub fn sha256_base64url(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// A token as another program (fastapi-users) would mint it: 32 random bytes, base64url.
pub fn foreign_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The id of the user `token` authenticates, if any; panics on an error.
async fn reader<B: Backend, S>(b: &B, h: &Harness<S>, token: &str) -> Option<<B::User as User>::Id>
where
    S: AccessTokenStore<UserId = <B::User as User>::Id>,
{
    h.strategy.read_token(Some(token), b.users()).await.expect("read_token").map(|u| u.id().clone())
}

async fn login<B: Backend, S>(h: &Harness<S>, user: &B::User) -> String
where
    S: AccessTokenStore<UserId = <B::User as User>::Id>,
{
    h.strategy.write_token(user).await.expect("write_token").into_secret()
}

async fn rows_of<B: Backend, S>(h: &Harness<S>, user: &B::User) -> Vec<AccessToken<S::UserId>>
where
    S: AccessTokenStore<UserId = <B::User as User>::Id>,
{
    h.strategy.store().list_of_user(user.id()).await.expect("list_of_user")
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

// ---- reading tokens ----

/// No token: not authenticated, and the store is not asked.
pub async fn missing_token_is_refused_without_a_query<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = h.strategy.read_token(None, b.users()).await.expect("read_token");
    assert!(user.is_none());
    assert_eq!(h.probe.calls(), 0);
}

/// Strings of the wrong shape: not authenticated, and the store is not asked.
pub async fn malformed_tokens_are_refused_without_a_query<B: Backend>(b: &B) {
    let h = hashed(b);
    for candidate in malformed_tokens() {
        let user = h.strategy.read_token(Some(&candidate), b.users()).await.expect("read_token");
        assert!(user.is_none(), "{candidate:?} authenticated someone");
    }
    assert_eq!(h.probe.calls(), 0, "a malformed token reached the store");
}

/// A well-formed token nobody issued: not authenticated.
pub async fn unknown_token_is_refused<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    login::<B, _>(&h, &user).await;
    assert_eq!(reader(b, &h, &foreign_token()).await, None);
    assert_eq!(h.probe.calls(), 2, "one insert, one lookup");
}

/// A fresh token authenticates the user it was issued to, and only that user.
pub async fn valid_token_authenticates_its_user<B: Backend>(b: &B) {
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let alices = login::<B, _>(&h, &alice).await;
    let bobs = login::<B, _>(&h, &bob).await;
    assert_eq!(alices.len(), TOKEN_LEN);
    assert_eq!(reader(b, &h, &alices).await.as_ref(), Some(alice.id()));
    assert_eq!(reader(b, &h, &bobs).await.as_ref(), Some(bob.id()));
}

/// One second past the lifetime, a token is refused.
pub async fn token_one_second_past_its_lifetime_is_refused<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::from_std(LIFETIME).unwrap() + TimeDelta::seconds(1));
    assert_eq!(reader(b, &h, &token).await, None);
}

/// At exactly its lifetime, a token still authenticates (`created_at >= now - lifetime`).
pub async fn token_exactly_at_its_lifetime_is_accepted<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::from_std(LIFETIME).unwrap());
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
    h.clock.advance(TimeDelta::microseconds(1));
    assert_eq!(reader(b, &h, &token).await, None, "a microsecond later it is expired");
}

/// Without a lifetime, a token lives until revoked.
pub async fn token_without_lifetime_never_expires<B: Backend>(b: &B) {
    let h = harness(b, None, StorageMode::Hashed);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::days(365 * 50));
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
    assert_eq!(h.strategy.not_before(), None);
}

/// A token whose user is gone authenticates nobody.
pub async fn token_of_deleted_user_is_refused<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    b.delete_user(&user).await;
    assert_eq!(reader(b, &h, &token).await, None);
}

/// Inactive users are returned: what they may do is the caller's decision, as in the reference.
pub async fn inactive_user_is_still_returned<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(false).await;
    assert!(!B::is_active(&user));
    let token = login::<B, _>(&h, &user).await;
    let read = h.strategy.read_token(Some(&token), b.users()).await.unwrap().expect("a user");
    assert_eq!(read.id(), user.id());
    assert!(!B::is_active(&read));
}

/// A token with one character changed, or in another case, authenticates nobody.
pub async fn altered_token_is_refused<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let mut altered = token.clone().into_bytes();
    altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(reader(b, &h, &altered).await, None);
    let swapped: String =
        token
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
            })
            .collect();
    if swapped != token {
        assert_eq!(reader(b, &h, &swapped).await, None);
    }
}

/// What a database dump shows (the stored hash) does not work as a token.
pub async fn stored_hash_presented_as_token_is_refused<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    login::<B, _>(&h, &user).await;
    let stored = rows_of::<B, _>(&h, &user).await.remove(0).token;
    assert_eq!(reader(b, &h, &stored).await, None);
}

/// Every login mints a new token; a user may hold many, each of them valid.
pub async fn two_logins_give_two_distinct_tokens<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let first = login::<B, _>(&h, &user).await;
    let second = login::<B, _>(&h, &user).await;
    assert_ne!(first, second);
    assert_eq!(rows_of::<B, _>(&h, &user).await.len(), 2);
    assert_eq!(reader(b, &h, &first).await.as_ref(), Some(user.id()));
    assert_eq!(reader(b, &h, &second).await.as_ref(), Some(user.id()));
}

/// Reads of valid, expired and unknown tokens change no row.
pub async fn reading_never_writes<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let old = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::minutes(59));
    let fresh = login::<B, _>(&h, &user).await;
    let before = rows_of::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::minutes(2));
    assert_eq!(reader(b, &h, &old).await, None);
    assert!(reader(b, &h, &fresh).await.is_some());
    assert_eq!(reader(b, &h, &foreign_token()).await, None);
    assert_eq!(rows_of::<B, _>(&h, &user).await, before);
}

// ---- revoking tokens ----

/// Logout deletes the token: it no longer authenticates.
pub async fn destroy_own_token_revokes_it<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let kept = login::<B, _>(&h, &user).await;
    assert!(h.strategy.destroy_token(&token, &user).await.unwrap());
    assert_eq!(reader(b, &h, &token).await, None);
    assert_eq!(reader(b, &h, &kept).await.as_ref(), Some(user.id()), "other sessions stay");
}

/// Presenting someone else's token at logout leaves it working (the reference deletes it).
pub async fn destroy_other_users_token_leaves_it<B: Backend>(b: &B) {
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let mallory = b.create_user(true).await;
    let alices = login::<B, _>(&h, &alice).await;
    assert!(!h.strategy.destroy_token(&alices, &mallory).await.unwrap());
    assert_eq!(reader(b, &h, &alices).await.as_ref(), Some(alice.id()));
}

/// Logging out with an unknown token changes nothing and is no error.
pub async fn destroy_unknown_token_is_a_noop<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    assert!(!h.strategy.destroy_token(&foreign_token(), &user).await.unwrap());
    assert_eq!(rows_of::<B, _>(&h, &user).await.len(), 1);
    assert!(reader(b, &h, &token).await.is_some());
}

/// Logging out with a malformed token is a no-op that never reaches the store.
pub async fn destroy_malformed_token_is_a_noop_without_a_query<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    for candidate in malformed_tokens() {
        assert!(!h.strategy.destroy_token(&candidate, &user).await.unwrap());
    }
    assert_eq!(h.probe.calls(), 0);
}

/// An expired token can still be revoked (its row goes).
pub async fn destroy_expired_token_deletes_it<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::days(2));
    assert!(h.strategy.destroy_token(&token, &user).await.unwrap());
    assert!(rows_of::<B, _>(&h, &user).await.is_empty());
}

/// "Log out everywhere" deletes all of one user's tokens and nobody else's.
pub async fn destroy_all_tokens_leaves_other_users_tokens<B: Backend>(b: &B) {
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let mut alices = Vec::new();
    for _ in 0..3 {
        alices.push(login::<B, _>(&h, &alice).await);
    }
    let bobs = login::<B, _>(&h, &bob).await;
    assert_eq!(h.strategy.destroy_all_tokens(&alice).await.unwrap(), 3);
    for token in &alices {
        assert_eq!(reader(b, &h, token).await, None);
    }
    assert_eq!(reader(b, &h, &bobs).await.as_ref(), Some(bob.id()));
    assert_eq!(h.strategy.destroy_all_tokens(&alice).await.unwrap(), 0);
}

// ---- purging expired rows ----

/// Purge deletes the rows past their lifetime, keeps the live ones (the boundary included).
pub async fn purge_removes_exactly_the_expired_rows<B: Backend>(b: &B) {
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    for user in [&alice, &alice, &bob] {
        login::<B, _>(&h, user).await; // expire: 61 minutes old at the purge
    }
    h.clock.advance(TimeDelta::minutes(1));
    let at_boundary = login::<B, _>(&h, &alice).await; // exactly 60 minutes old
    h.clock.advance(TimeDelta::minutes(29));
    let young = [login::<B, _>(&h, &alice).await, login::<B, _>(&h, &bob).await];
    h.clock.advance(TimeDelta::minutes(31));

    let purged = h.strategy.purge_expired(NonZeroU32::new(2).unwrap()).await.unwrap();
    assert_eq!(purged, 3);
    let mut left: Vec<String> =
        rows_of::<B, _>(&h, &alice).await.into_iter().map(|r| r.token).collect();
    left.extend(rows_of::<B, _>(&h, &bob).await.into_iter().map(|r| r.token));
    let mut expected: Vec<String> =
        [&at_boundary, &young[0], &young[1]].iter().map(|t| sha256_base64url(t)).collect();
    left.sort();
    expected.sort();
    assert_eq!(left, expected);
    assert!(reader(b, &h, &at_boundary).await.is_some());
    assert_eq!(h.strategy.purge_expired(NonZeroU32::new(2).unwrap()).await.unwrap(), 0);
}

/// Purge never asks for more than the batch size in one statement, and stops on a short batch.
pub async fn purge_respects_the_batch_size<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    for _ in 0..5 {
        login::<B, _>(&h, &user).await;
    }
    h.clock.advance(TimeDelta::hours(2));
    let live = login::<B, _>(&h, &user).await;
    assert_eq!(h.strategy.purge_expired(NonZeroU32::new(2).unwrap()).await.unwrap(), 5);
    assert_eq!(h.probe.purge_batches(), vec![(2, 2), (2, 2), (2, 1)]);
    assert_eq!(rows_of::<B, _>(&h, &user).await.len(), 1);
    assert!(reader(b, &h, &live).await.is_some());
}

/// With no lifetime nothing expires, so purge deletes nothing and asks the store nothing.
pub async fn purge_without_lifetime_deletes_nothing<B: Backend>(b: &B) {
    let h = harness(b, None, StorageMode::Hashed);
    let user = b.create_user(true).await;
    login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::days(3650));
    let calls = h.probe.calls();
    assert_eq!(h.strategy.purge_expired(NonZeroU32::new(100).unwrap()).await.unwrap(), 0);
    assert_eq!(h.probe.calls(), calls);
    assert_eq!(rows_of::<B, _>(&h, &user).await.len(), 1);
}

// ---- storage modes ----

/// Hashed mode: the row holds base64url(SHA-256(token)), never the token.
pub async fn hashed_mode_stores_the_sha256_not_the_token<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let rows = rows_of::<B, _>(&h, &user).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token, sha256_base64url(&token));
    assert_ne!(rows[0].token, token);
    assert_eq!(&rows[0].user_id, user.id());
    assert_eq!(rows[0].created_at, start_time());
}

/// Plain mode: the row holds the token itself, as fastapi-users stores it.
pub async fn plain_mode_stores_the_token<B: Backend>(b: &B) {
    let h = harness(b, Some(LIFETIME), StorageMode::Plain);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let rows = rows_of::<B, _>(&h, &user).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token, token);
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
}

/// Plain mode reads a row another program wrote with its own token; hashed mode does not.
pub async fn plain_mode_reads_a_token_written_by_another_program<B: Backend>(b: &B) {
    let plain = harness(b, Some(LIFETIME), StorageMode::Plain);
    let user = b.create_user(true).await;
    let token = foreign_token();
    let row =
        AccessToken { token: token.clone(), user_id: user.id().clone(), created_at: start_time() };
    plain.strategy.store().create(row).await.unwrap();
    assert_eq!(reader(b, &plain, &token).await.as_ref(), Some(user.id()));
    assert_eq!(reader(b, &hashed(b), &token).await, None);
    assert!(plain.strategy.destroy_token(&token, &user).await.unwrap());
}

// ---- failures ----

/// A failing store is an error from every call: never "logged out", never a user.
pub async fn failing_store_is_an_error_from_every_call<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    h.probe.set_failing(true);
    let s = &h.strategy;
    assert!(matches!(s.write_token(&user).await, Err(Error::Store(_))));
    assert!(matches!(s.read_token(Some(&token), b.users()).await, Err(Error::Store(_))));
    assert!(matches!(s.read_token_row(Some(&token)).await, Err(Error::Store(_))));
    assert!(matches!(s.destroy_token(&token, &user).await, Err(Error::Store(_))));
    assert!(matches!(s.destroy_all_tokens(&user).await, Err(Error::Store(_))));
    assert!(matches!(s.purge_expired(NonZeroU32::new(10).unwrap()).await, Err(Error::Store(_))));
    h.probe.set_failing(false);
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()), "recovers, nothing lost");
    assert_eq!(rows_of::<B, _>(&h, &user).await.len(), 1, "the failed write left no row");
}

/// A failing user loader is an error, not "no such user".
pub async fn failing_user_loader_is_an_error<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let broken = BrokenUsers::<B::User>::default();
    let result = h.strategy.read_token(Some(&token), &broken).await;
    assert!(matches!(result, Err(Error::UserLoader(_))), "{result:?}");
}

/// A zero lifetime is a configuration error, not "forever".
pub async fn zero_lifetime_is_rejected<B: Backend>(b: &B) {
    let result = DatabaseStrategy::new(b.store(), Some(Duration::ZERO));
    assert!(matches!(result, Err(Error::Config(_))));
}

/// Neither `Debug` nor `Display` of an issued token shows it.
pub async fn token_debug_and_display_do_not_reveal_it<B: Backend>(b: &B) {
    let h = harness(b, Some(LIFETIME), StorageMode::Plain);
    let user = b.create_user(true).await;
    let token: PlaintextToken = h.strategy.write_token(&user).await.unwrap();
    let secret = token.expose_secret().to_owned();
    let row = rows_of::<B, _>(&h, &user).await.remove(0);
    for shown in [format!("{token:?}"), format!("{token}"), format!("{row:?}")] {
        assert!(!shown.contains(&secret), "{shown} shows the token");
    }
}

// ---- the storage contract itself ----

/// Creating a row whose token exists is an error, and the first row stays.
pub async fn store_rejects_a_duplicate_token<B: Backend>(b: &B) {
    let store = b.store();
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let token = foreign_token();
    let row = |user: &B::User| AccessToken {
        token: token.clone(),
        user_id: user.id().clone(),
        created_at: start_time(),
    };
    store.create(row(&alice)).await.unwrap();
    let again = store.create(row(&bob)).await;
    assert!(matches!(again, Err(Error::DuplicateToken)), "{again:?}");
    let kept = store.get(&token, None).await.unwrap().expect("the first row");
    assert_eq!(&kept.user_id, alice.id());
}

/// `update` replaces the owner and creation time; an unknown token updates nothing.
pub async fn store_update_replaces_owner_and_creation_time<B: Backend>(b: &B) {
    let store = b.store();
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let token = foreign_token();
    let at = start_time();
    let row = AccessToken { token: token.clone(), user_id: alice.id().clone(), created_at: at };
    store.create(row).await.unwrap();
    let moved = AccessToken {
        token: token.clone(),
        user_id: bob.id().clone(),
        created_at: at + TimeDelta::minutes(5),
    };
    assert!(store.update(moved.clone()).await.unwrap());
    assert_eq!(store.get(&token, None).await.unwrap(), Some(moved));
    let ghost = AccessToken { token: foreign_token(), user_id: bob.id().clone(), created_at: at };
    assert!(!store.update(ghost.clone()).await.unwrap());
    assert_eq!(store.get(&ghost.token, None).await.unwrap(), None);
}

/// `get` with `not_before` returns rows created at or after it, and no older ones.
pub async fn store_get_respects_not_before<B: Backend>(b: &B) {
    let store = b.store();
    let user = b.create_user(true).await;
    let token = foreign_token();
    let at = start_time();
    let row = AccessToken { token: token.clone(), user_id: user.id().clone(), created_at: at };
    store.create(row.clone()).await.unwrap();
    assert_eq!(store.get(&token, None).await.unwrap(), Some(row.clone()));
    assert_eq!(store.get(&token, Some(at)).await.unwrap(), Some(row));
    assert_eq!(store.get(&token, Some(at + TimeDelta::microseconds(1))).await.unwrap(), None);
}

/// `list_of_user` returns exactly the user's rows, oldest first.
pub async fn store_lists_a_users_tokens_oldest_first<B: Backend>(b: &B) {
    let store = b.store();
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let at = start_time();
    let mut expected = Vec::new();
    for minutes in [30, 10, 20] {
        let row = AccessToken {
            token: foreign_token(),
            user_id: alice.id().clone(),
            created_at: at + TimeDelta::minutes(minutes),
        };
        store.create(row.clone()).await.unwrap();
        expected.push(row);
    }
    let other = AccessToken { token: foreign_token(), user_id: bob.id().clone(), created_at: at };
    store.create(other).await.unwrap();
    expected.sort_by_key(|row| row.created_at);
    assert_eq!(store.list_of_user(alice.id()).await.unwrap(), expected);
}

/// Logins racing on one user give distinct tokens that all authenticate.
pub async fn concurrent_logins_give_distinct_valid_tokens<B: Backend>(b: &B) {
    const TASKS: usize = 8;
    const PER_TASK: usize = 25;
    let h = hashed(b);
    let user = b.create_user(true).await;
    let strategy = Arc::new(h.strategy);
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (strategy, user) = (Arc::clone(&strategy), user.clone());
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            for _ in 0..PER_TASK {
                tokens.push(strategy.write_token(&user).await.expect("write_token").into_secret());
            }
            tokens
        }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.extend(task.await.expect("a login task"));
    }
    let distinct: std::collections::HashSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), TASKS * PER_TASK);
    for token in &tokens {
        let read = strategy.read_token(Some(token), b.users()).await.unwrap();
        assert_eq!(read.as_ref().map(User::id), Some(user.id()));
    }
    assert_eq!(strategy.store().list_of_user(user.id()).await.unwrap().len(), TASKS * PER_TASK);
}

// ---- operator tools ----

/// `inspect_token` tells malformed, unknown, expired and valid apart, and changes nothing.
pub async fn inspect_token_tells_unknown_from_expired<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    assert_eq!(h.strategy.inspect_token("nope").await.unwrap(), TokenStatus::Malformed);
    assert_eq!(h.strategy.inspect_token(&foreign_token()).await.unwrap(), TokenStatus::Unknown);
    let TokenStatus::Valid(row) = h.strategy.inspect_token(&token).await.unwrap() else {
        panic!("a fresh token is valid");
    };
    assert_eq!(&row.user_id, user.id());
    assert_eq!(h.strategy.expires_at(row.created_at), Some(start_time() + TimeDelta::hours(1)));
    h.clock.advance(TimeDelta::hours(1) + TimeDelta::seconds(1));
    assert!(matches!(h.strategy.inspect_token(&token).await.unwrap(), TokenStatus::Expired(_)));
    assert_eq!(rows_of::<B, _>(&h, &user).await.len(), 1);
}

/// An operator's revoke deletes a token whoever owns it; unknown and malformed ones are no-ops.
pub async fn operator_revoke_deletes_any_users_token<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let kept = login::<B, _>(&h, &user).await;
    assert!(!h.strategy.revoke_token(&foreign_token()).await.unwrap());
    assert!(!h.strategy.revoke_token("nope").await.unwrap());
    assert!(h.strategy.revoke_token(&token).await.unwrap());
    assert_eq!(reader(b, &h, &token).await, None);
    assert_eq!(reader(b, &h, &kept).await.as_ref(), Some(user.id()));
}
