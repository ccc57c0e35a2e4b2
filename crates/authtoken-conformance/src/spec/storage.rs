//! Storage modes and the storage contract itself: what every [`AccessTokenStore`] must do.

use std::sync::Arc;

use authtoken::store::{AccessToken, AccessTokenStore};
use authtoken::{Error, StorageMode, User};
use chrono::TimeDelta;

use super::{
    LIFETIME, foreign_token, harness, hashed, hmac_base64url, login, reader, sha256_base64url,
    start_time,
};
use crate::Backend;

/// Hashed mode: the row holds base64url(SHA-256(token)), never the token.
pub async fn hashed_mode_stores_the_sha256_not_the_token<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let store = h.strategy.store();
    let row = store.get(&sha256_base64url(&token)).await.unwrap().expect("the hashed row");
    assert_eq!(row.token, sha256_base64url(&token));
    assert_eq!(&row.user_id, user.id());
    assert_eq!(row.created_at, start_time());
    assert_eq!(store.get(&token).await.unwrap(), None, "the plaintext is a key");
}

/// Plain mode: the row holds the token itself, as fastapi-users stores it.
pub async fn plain_mode_stores_the_token<B: Backend>(b: &B) {
    let h = harness(b, Some(LIFETIME), StorageMode::Plain);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let row = h.strategy.store().get(&token).await.unwrap().expect("the plain row");
    assert_eq!(row.token, token);
    assert_eq!(&row.user_id, user.id());
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
}

/// Plain mode reads a row another program wrote with its own token; hashed mode does not.
pub async fn plain_mode_reads_a_token_written_by_another_program<B: Backend>(b: &B) {
    let plain = harness(b, Some(LIFETIME), StorageMode::Plain);
    let user = b.create_user(true).await;
    let token = foreign_token();
    let row = AccessToken::new(token.clone(), user.id().clone(), start_time());
    plain.strategy.store().create(row, None).await.unwrap();
    assert_eq!(reader(b, &plain, &token).await.as_ref(), Some(user.id()));
    assert_eq!(reader(b, &hashed(b), &token).await, None);
    assert!(plain.strategy.destroy_token(&token, &user).await.unwrap());
}

/// Creating a row whose token exists is an error, and the first row stays.
pub async fn store_rejects_a_duplicate_token<B: Backend>(b: &B) {
    let store = b.store();
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let token = foreign_token();
    let row = |user: &B::User| AccessToken::new(token.clone(), user.id().clone(), start_time());
    store.create(row(&alice), None).await.unwrap();
    let again = store.create(row(&bob), None).await;
    assert!(matches!(again, Err(Error::DuplicateToken)), "{again:?}");
    let kept = store.get(&token).await.unwrap().expect("the first row");
    assert_eq!(&kept.user_id, alice.id());
}

/// `get` returns the row as it was written, its creation time to the microsecond (the
/// strategy's expiry check reads it).
pub async fn store_get_returns_the_row_as_written<B: Backend>(b: &B) {
    let store = b.store();
    let user = b.create_user(true).await;
    let token = foreign_token();
    let at = start_time();
    let row = AccessToken::new(token.clone(), user.id().clone(), at);
    store.create(row.clone(), None).await.unwrap();
    assert_eq!(store.get(&token).await.unwrap(), Some(row));
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
        let read = strategy.read_token(token, b.users()).await.unwrap();
        assert_eq!(read.as_ref().map(|(u, _)| u.id()), Some(user.id()));
    }
}

/// `create` is told when the token expires; a row stays readable until then whatever the store
/// does with it (a TTL store keys its expiry on `expires_at - created_at`, never on its own clock).
pub async fn store_create_with_an_expiry_keeps_the_row<B: Backend>(b: &B) {
    let store = b.store();
    let user = b.create_user(true).await;
    let token = foreign_token();
    let at = start_time();
    let row = AccessToken::new(token.clone(), user.id().clone(), at);
    store.create(row.clone(), Some(at + TimeDelta::hours(1))).await.unwrap();
    assert_eq!(store.get(&token).await.unwrap(), Some(row));
    assert!(store.delete(&token, user.id()).await.unwrap());
    assert_eq!(store.get(&token).await.unwrap(), None);
}

fn keyed<S: AccessTokenStore>(
    h: crate::spec::Harness<S>,
    keys: &[&[u8; 32]],
) -> crate::spec::Harness<S> {
    let mut ring = authtoken::HashKeys::new(keys[0]).expect("a 32-byte key");
    for key in &keys[1..] {
        ring = ring.with_previous(*key).expect("a 32-byte key");
    }
    crate::spec::Harness { strategy: h.strategy.with_hash_keys(ring), ..h }
}

/// Keyed mode: the row holds HMAC-SHA-256 under the current key; after a rotation tokens under
/// the old key still work (at one more lookup), new ones go under the new key, and dropping the
/// old key ends the old tokens.
pub async fn keyed_hash_stores_the_hmac_and_rotates<B: Backend>(b: &B) {
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let user = b.create_user(true).await;
    let first = keyed(hashed(b), &[&old]);
    let token = login::<B, _>(&first, &user).await;
    let store = first.strategy.store();
    let row = store.get(&hmac_base64url(&old, &token)).await.unwrap().expect("the HMAC row");
    assert_eq!(&row.user_id, user.id());
    assert_eq!(store.get(&sha256_base64url(&token)).await.unwrap(), None);
    assert_eq!(reader(b, &hashed(b), &token).await, None, "an unkeyed strategy cannot read it");

    let rotated = keyed(hashed(b), &[&new, &old]);
    let calls = rotated.probe.calls();
    assert_eq!(reader(b, &rotated, &token).await.as_ref(), Some(user.id()));
    assert_eq!(rotated.probe.calls() - calls, 2, "an old-key token costs one lookup per key");
    let fresh = login::<B, _>(&rotated, &user).await;
    assert!(store.get(&hmac_base64url(&new, &fresh)).await.unwrap().is_some());
    let calls = rotated.probe.calls();
    assert_eq!(reader(b, &rotated, &fresh).await.as_ref(), Some(user.id()));
    assert_eq!(rotated.probe.calls() - calls, 1, "a current-key token costs one lookup");

    let retired = keyed(hashed(b), &[&new]);
    assert_eq!(reader(b, &retired, &token).await, None, "the old key was retired");
    assert!(rotated.strategy.destroy_token(&token, &user).await.unwrap(), "old tokens log out");
    assert_eq!(reader(b, &rotated, &token).await, None);
}

/// Someone who can write to the token table but lacks the key cannot plant a usable row: neither
/// the bare hash nor the plaintext of a token of their choosing authenticates.
pub async fn keyed_hash_refuses_rows_planted_without_the_key<B: Backend>(b: &B) {
    let h = keyed(hashed(b), &[&[3u8; 32]]);
    let victim = b.create_user(true).await;
    let chosen = foreign_token();
    for key in [sha256_base64url(&chosen), chosen.clone()] {
        let row = AccessToken::new(key, victim.id().clone(), start_time());
        h.strategy.store().create(row, None).await.unwrap();
    }
    assert_eq!(reader(b, &h, &chosen).await, None);
    assert_eq!(h.strategy.inspect_token(&chosen).await.unwrap(), authtoken::TokenStatus::Unknown);
}

/// M2: with server keys, rows are bound to their tokens: a row rewritten by someone who can write to the table but lacks the key
/// authenticates nobody: another `user_id` (to become the victim), a later `created_at` (to live
/// longer); the untouched rows keep working, and an operator can still revoke the rewritten one.
pub async fn bound_rows_refuse_rows_rewritten_by_hand<B: Backend>(b: &B) {
    let key = [4u8; 32];
    let h = keyed(hashed(b), &[&key]);
    let (victim, attacker) = (b.create_user(true).await, b.create_user(true).await);
    let store = h.strategy.store();
    let rewrite = |token: String, change: Box<dyn FnOnce(&mut AccessToken<_>) + Send>| {
        let store = store.clone();
        async move {
            let stored = hmac_base64url(&key, &token);
            let mut row = store.get(&stored).await.unwrap().expect("the row");
            let owner = row.user_id.clone();
            assert!(store.delete(&row.token, &owner).await.unwrap());
            change(&mut row);
            let ends = row.details.expires_at;
            store.create(row, ends).await.unwrap();
        }
    };
    let honest = login::<B, _>(&h, &attacker).await;
    assert_eq!(reader(b, &h, &honest).await.as_ref(), Some(attacker.id()), "a bound token works");

    let stolen = login::<B, _>(&h, &attacker).await;
    let victim_id = victim.id().clone();
    rewrite(stolen.clone(), Box::new(move |row| row.user_id = victim_id)).await;
    assert_eq!(reader(b, &h, &stolen).await, None, "a row moved to another user");
    let status = h.strategy.inspect_token(&stolen).await.unwrap();
    assert!(matches!(status, authtoken::TokenStatus::Tampered(_)), "{status:?}");

    let longer = login::<B, _>(&h, &attacker).await;
    rewrite(longer.clone(), Box::new(|row| row.created_at += TimeDelta::seconds(30))).await;
    assert_eq!(reader(b, &h, &longer).await, None, "a row made younger");

    assert_eq!(reader(b, &h, &honest).await.as_ref(), Some(attacker.id()), "untouched rows work");
    assert!(h.strategy.revoke_token(&stolen).await.unwrap(), "the operator revokes it");
    // Turned off (for keyed tokens older than the binding), the rewritten row is accepted.
    let unbound = keyed(hashed(b), &[&key]);
    let unbound =
        crate::spec::Harness { strategy: unbound.strategy.without_row_binding(), ..unbound };
    assert_eq!(reader(b, &unbound, &longer).await.as_ref(), Some(attacker.id()));
}
