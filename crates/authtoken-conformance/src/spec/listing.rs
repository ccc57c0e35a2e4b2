//! Listing a user's tokens: the [`ListTokens`] capability.

use authtoken::store::AccessToken;
use authtoken::{AccessTokenStore, Error, ListTokens, User};
use chrono::TimeDelta;

use super::{foreign_token, hashed, login, start_time};
use crate::Backend;

/// `list_of_user` returns exactly the user's rows, oldest first.
pub async fn store_lists_a_users_tokens_oldest_first<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let store = b.store();
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let at = start_time();
    let mut expected = Vec::new();
    for minutes in [30, 10, 20] {
        let row =
            AccessToken::new(foreign_token(), alice.id().clone(), at + TimeDelta::minutes(minutes));
        store.create(row.clone(), None).await.unwrap();
        expected.push(row);
    }
    let other = AccessToken::new(foreign_token(), bob.id().clone(), at);
    store.create(other, None).await.unwrap();
    expected.sort_by_key(|row| row.created_at);
    assert_eq!(store.list_of_user(alice.id()).await.unwrap(), expected);
    assert!(store.list_of_user(&b.create_user(true).await.id().clone()).await.unwrap().is_empty());
}

/// A login that failed in the store left no row behind; the one before it is still there.
pub async fn a_failed_login_leaves_no_row<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let h = hashed(b);
    let user = b.create_user(true).await;
    login::<B, _>(&h, &user).await;
    h.probe.set_failing(true);
    assert!(matches!(h.strategy.write_token(&user).await, Err(Error::Store(_))));
    assert!(matches!(h.strategy.store().list_of_user(user.id()).await, Err(Error::Store(_))));
    h.probe.set_failing(false);
    assert_eq!(h.strategy.store().list_of_user(user.id()).await.unwrap().len(), 1);
}

/// `list_by_key_prefix` finds exactly the rows whose key starts with the prefix, byte for byte:
/// `_` and `-` are plain characters, and case counts.
pub async fn store_finds_rows_by_key_prefix<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let store = b.store();
    let user = b.create_user(true).await;
    let limit = std::num::NonZeroU32::new(10).unwrap();
    let mut keys = Vec::new();
    for key in ["ab_cd", "abXcd", "ab-cd", "AB_cd", "zz"] {
        let token = format!("{key}{}", &foreign_token()[key.len()..]);
        let row = AccessToken::new(token.clone(), user.id().clone(), start_time());
        store.create(row, None).await.unwrap();
        keys.push(token);
    }
    let found = |rows: Vec<AccessToken<_>>| rows.into_iter().map(|r| r.token).collect::<Vec<_>>();
    assert_eq!(found(store.list_by_key_prefix("ab_", limit).await.unwrap()), [keys[0].clone()]);
    assert_eq!(found(store.list_by_key_prefix("ab-", limit).await.unwrap()), [keys[2].clone()]);
    assert_eq!(found(store.list_by_key_prefix("AB", limit).await.unwrap()), [keys[3].clone()]);
    assert_eq!(store.list_by_key_prefix("ab", limit).await.unwrap().len(), 3);
    let one = std::num::NonZeroU32::new(1).unwrap();
    assert_eq!(store.list_by_key_prefix("ab", one).await.unwrap().len(), 1);
    assert!(store.list_by_key_prefix("q", limit).await.unwrap().is_empty());
}
