//! Reading tokens: who a presented token authenticates, and when it stops.

use authtoken::token::TOKEN_LEN;
use authtoken::{StorageMode, User};
use chrono::TimeDelta;

use super::{LIFETIME, foreign_token, harness, hashed, login, malformed_tokens, reader, row_of};
use crate::Backend;

/// No token (an empty one): not authenticated, and the store is not asked.
pub async fn missing_token_is_refused_without_a_query<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = h.strategy.read_token("", b.users()).await.expect("read_token");
    assert!(user.is_none());
    assert_eq!(h.probe.calls(), 0);
}

/// Strings of the wrong shape: not authenticated, and the store is not asked.
pub async fn malformed_tokens_are_refused_without_a_query<B: Backend>(b: &B) {
    let h = hashed(b);
    for candidate in malformed_tokens() {
        let user = h.strategy.read_token(&candidate, b.users()).await.expect("read_token");
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
    assert_eq!(h.strategy.created_since(), None);
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
    let (read, _) = h.strategy.read_token(&token, b.users()).await.unwrap().expect("a user");
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
    let token = login::<B, _>(&h, &user).await;
    let stored = row_of(&h, &token).await.expect("the row").token;
    assert_eq!(reader(b, &h, &stored).await, None);
}

/// Every login mints a new token; a user may hold many, each of them valid.
pub async fn two_logins_give_two_distinct_tokens<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let first = login::<B, _>(&h, &user).await;
    let second = login::<B, _>(&h, &user).await;
    assert_ne!(first, second);
    assert!(row_of(&h, &first).await.is_some() && row_of(&h, &second).await.is_some());
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
    let before = (row_of(&h, &old).await, row_of(&h, &fresh).await);
    assert!(before.0.is_some() && before.1.is_some());
    h.clock.advance(TimeDelta::minutes(2));
    assert_eq!(reader(b, &h, &old).await, None);
    assert!(reader(b, &h, &fresh).await.is_some());
    assert_eq!(reader(b, &h, &foreign_token()).await, None);
    assert_eq!((row_of(&h, &old).await, row_of(&h, &fresh).await), before);
}

/// M2: a row dated in the future (an `UPDATE … SET created_at = '2999-…'`) authenticates
/// nobody, with or without a lifetime; a minute's skew between servers' clocks is tolerated.
pub async fn a_row_dated_in_the_future_authenticates_nobody<B: Backend>(b: &B) {
    for lifetime in [Some(LIFETIME), None] {
        let h = harness(b, lifetime, StorageMode::Hashed);
        let user = b.create_user(true).await;
        let token = login::<B, _>(&h, &user).await;
        // The reader's clock behind the writer's: within the skew the token still works.
        h.clock.advance(TimeDelta::seconds(-30));
        assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()), "within the skew");
        h.clock.advance(TimeDelta::minutes(-2));
        assert_eq!(reader(b, &h, &token).await, None, "created in the future ({lifetime:?})");
        h.clock.advance(TimeDelta::days(-365 * 900));
        assert_eq!(reader(b, &h, &token).await, None, "centuries ahead");
    }
}
