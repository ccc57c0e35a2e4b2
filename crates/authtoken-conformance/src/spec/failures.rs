//! Failures: a store or loader that fails is an error, never "logged out"; secrets stay hidden.

use std::time::Duration;

use authtoken::{DatabaseStrategy, Error, PlaintextToken, StorageMode, User};

use super::{LIFETIME, harness, hashed, login, reader, row_of};
use crate::Backend;
use crate::faults::BrokenUsers;

/// A failing store is an error from every call: never "logged out", never a user.
pub async fn failing_store_is_an_error_from_every_call<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    h.probe.set_failing(true);
    let s = &h.strategy;
    assert!(matches!(s.write_token(&user).await, Err(Error::Store(_))));
    assert!(matches!(s.read_token(&token, b.users()).await, Err(Error::Store(_))));
    assert!(matches!(s.read_token_row(&token).await, Err(Error::Store(_))));
    assert!(matches!(s.destroy_token(&token, &user).await, Err(Error::Store(_))));
    assert!(matches!(s.destroy_all_tokens(&user).await, Err(Error::Store(_))));
    h.probe.set_failing(false);
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()), "recovers, nothing lost");
    assert!(row_of(&h, &token).await.is_some(), "the row written before the fault is kept");
}

/// A failing user loader is an error, not "no such user".
pub async fn failing_user_loader_is_an_error<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let broken = BrokenUsers::<B::User>::default();
    let result = h.strategy.read_token(&token, &broken).await;
    assert!(matches!(result, Err(Error::UserLoader(_))), "{result:?}");
}

/// A zero lifetime is a configuration error, not "forever".
pub async fn zero_lifetime_is_rejected<B: Backend>(b: &B) {
    let result = DatabaseStrategy::new(b.store(), Some(Duration::ZERO));
    assert!(matches!(result, Err(Error::Config(_))));
}

/// A lifetime past the calendar (300,000 years) is a configuration error, never a panic at
/// `now - lifetime` on the first request; the longest accepted one works end to end.
pub async fn absurd_lifetimes_are_rejected_and_the_longest_works<B: Backend>(b: &B) {
    let absurd = Duration::from_secs(300_000 * 365 * 24 * 3600);
    let result = DatabaseStrategy::new(b.store(), Some(absurd));
    assert!(matches!(result, Err(Error::Config(_))), "{result:?}");
    let h = harness(b, Some(authtoken::MAX_LIFETIME), StorageMode::Hashed);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
    assert!(h.strategy.created_since().is_some());
}

/// Neither `Debug` nor `Display` of an issued token shows it.
pub async fn token_debug_and_display_do_not_reveal_it<B: Backend>(b: &B) {
    let h = harness(b, Some(LIFETIME), StorageMode::Plain);
    let user = b.create_user(true).await;
    let token: PlaintextToken = h.strategy.write_token(&user).await.unwrap();
    let secret = token.expose_secret().to_owned();
    let row = row_of(&h, &secret).await.expect("the row");
    for shown in [format!("{token:?}"), format!("{token}"), format!("{row:?}")] {
        assert!(!shown.contains(&secret), "{shown} shows the token");
    }
}
