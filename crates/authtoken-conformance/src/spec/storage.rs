//! Storage modes and the storage contract itself: what every [`AccessTokenStore`] must do.

use std::sync::Arc;

use authtoken::store::{AccessToken, AccessTokenStore};
use authtoken::{Error, StorageMode, User};
use chrono::TimeDelta;

use super::{
    LIFETIME, foreign_token, harness, hashed, login, reader, sha256_base64url, start_time,
};
use crate::Backend;

/// Hashed mode: the row holds base64url(SHA-256(token)), never the token.
pub async fn hashed_mode_stores_the_sha256_not_the_token<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let store = h.strategy.store();
    let row = store.get(&sha256_base64url(&token), None).await.unwrap().expect("the hashed row");
    assert_eq!(row.token, sha256_base64url(&token));
    assert_eq!(&row.user_id, user.id());
    assert_eq!(row.created_at, start_time());
    assert_eq!(store.get(&token, None).await.unwrap(), None, "the plaintext is a key");
}

/// Plain mode: the row holds the token itself, as fastapi-users stores it.
pub async fn plain_mode_stores_the_token<B: Backend>(b: &B) {
    let h = harness(b, Some(LIFETIME), StorageMode::Plain);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let row = h.strategy.store().get(&token, None).await.unwrap().expect("the plain row");
    assert_eq!(row.token, token);
    assert_eq!(&row.user_id, user.id());
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
}

/// Plain mode reads a row another program wrote with its own token; hashed mode does not.
pub async fn plain_mode_reads_a_token_written_by_another_program<B: Backend>(b: &B) {
    let plain = harness(b, Some(LIFETIME), StorageMode::Plain);
    let user = b.create_user(true).await;
    let token = foreign_token();
    let row =
        AccessToken { token: token.clone(), user_id: user.id().clone(), created_at: start_time() };
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
    let row = |user: &B::User| AccessToken {
        token: token.clone(),
        user_id: user.id().clone(),
        created_at: start_time(),
    };
    store.create(row(&alice), None).await.unwrap();
    let again = store.create(row(&bob), None).await;
    assert!(matches!(again, Err(Error::DuplicateToken)), "{again:?}");
    let kept = store.get(&token, None).await.unwrap().expect("the first row");
    assert_eq!(&kept.user_id, alice.id());
}

/// `get` with `not_before` returns rows created at or after it, and no older ones.
pub async fn store_get_respects_not_before<B: Backend>(b: &B) {
    let store = b.store();
    let user = b.create_user(true).await;
    let token = foreign_token();
    let at = start_time();
    let row = AccessToken { token: token.clone(), user_id: user.id().clone(), created_at: at };
    store.create(row.clone(), None).await.unwrap();
    assert_eq!(store.get(&token, None).await.unwrap(), Some(row.clone()));
    assert_eq!(store.get(&token, Some(at)).await.unwrap(), Some(row));
    assert_eq!(store.get(&token, Some(at + TimeDelta::microseconds(1))).await.unwrap(), None);
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
}

/// `create` is told when the token expires; a row stays readable until then whatever the store
/// does with it (a TTL store keys its expiry on `expires_at - created_at`, never on its own clock).
pub async fn store_create_with_an_expiry_keeps_the_row<B: Backend>(b: &B) {
    let store = b.store();
    let user = b.create_user(true).await;
    let token = foreign_token();
    let at = start_time();
    let row = AccessToken { token: token.clone(), user_id: user.id().clone(), created_at: at };
    store.create(row.clone(), Some(at + TimeDelta::hours(1))).await.unwrap();
    assert_eq!(store.get(&token, Some(at)).await.unwrap(), Some(row));
    assert!(store.delete(&token, user.id()).await.unwrap());
    assert_eq!(store.get(&token, None).await.unwrap(), None);
}
