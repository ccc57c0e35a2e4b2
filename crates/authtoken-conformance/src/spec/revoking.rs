//! Revoking tokens: logout, "log out everywhere", and the operator's inspect and revoke.

use authtoken::{TokenStatus, User};
use chrono::TimeDelta;

use super::{foreign_token, hashed, login, malformed_tokens, reader, row_of, start_time};
use crate::Backend;

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
    assert!(row_of(&h, &token).await.is_some());
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
    assert!(row_of(&h, &token).await.is_none());
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
    assert!(row_of(&h, &token).await.is_some(), "inspecting deletes nothing");
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
