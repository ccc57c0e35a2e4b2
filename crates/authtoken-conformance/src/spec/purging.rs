//! Purging expired rows: the [`PurgeExpired`] capability, through the strategy.

use std::num::NonZeroU32;

use authtoken::{Error, PurgeExpired, StorageMode};
use chrono::TimeDelta;

use super::{harness, hashed, login, reader, row_of};
use crate::Backend;

/// Purge deletes the rows past their lifetime, keeps the live ones (the boundary included).
pub async fn purge_removes_exactly_the_expired_rows<B: Backend>(b: &B)
where
    B::Store: PurgeExpired,
{
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let mut expired = Vec::new();
    for user in [&alice, &alice, &bob] {
        expired.push(login::<B, _>(&h, user).await); // 61 minutes old at the purge
    }
    h.clock.advance(TimeDelta::minutes(1));
    let at_boundary = login::<B, _>(&h, &alice).await; // exactly 60 minutes old
    h.clock.advance(TimeDelta::minutes(29));
    let young = [login::<B, _>(&h, &alice).await, login::<B, _>(&h, &bob).await];
    h.clock.advance(TimeDelta::minutes(31));

    let purged = h.strategy.purge_expired(NonZeroU32::new(2).unwrap()).await.unwrap();
    assert_eq!(purged, 3);
    for token in &expired {
        assert!(row_of(&h, token).await.is_none(), "an expired row survived the purge");
    }
    for token in [&at_boundary, &young[0], &young[1]] {
        assert!(row_of(&h, token).await.is_some(), "a live row was purged");
    }
    assert!(reader(b, &h, &at_boundary).await.is_some());
    assert_eq!(h.strategy.purge_expired(NonZeroU32::new(2).unwrap()).await.unwrap(), 0);
}

/// Purge never asks for more than the batch size in one statement, and stops on a short batch.
pub async fn purge_respects_the_batch_size<B: Backend>(b: &B)
where
    B::Store: PurgeExpired,
{
    let h = hashed(b);
    let user = b.create_user(true).await;
    for _ in 0..5 {
        login::<B, _>(&h, &user).await;
    }
    h.clock.advance(TimeDelta::hours(2));
    let live = login::<B, _>(&h, &user).await;
    assert_eq!(h.strategy.purge_expired(NonZeroU32::new(2).unwrap()).await.unwrap(), 5);
    assert_eq!(h.probe.purge_batches(), vec![(2, 2), (2, 2), (2, 1)]);
    assert!(row_of(&h, &live).await.is_some());
    assert!(reader(b, &h, &live).await.is_some());
}

/// With no lifetime nothing expires, so purge deletes nothing, and asks the store nothing
/// unless rows may carry their own expiry (the `expires_at` column).
pub async fn purge_without_lifetime_deletes_nothing<B: Backend>(b: &B)
where
    B::Store: PurgeExpired,
{
    let h = harness(b, None, StorageMode::Hashed);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::days(3650));
    let calls = h.probe.calls();
    assert_eq!(h.strategy.purge_expired(NonZeroU32::new(100).unwrap()).await.unwrap(), 0);
    if !authtoken::AccessTokenStore::columns(h.strategy.store()).expires_at {
        assert_eq!(h.probe.calls(), calls);
    }
    assert!(row_of(&h, &token).await.is_some());
}

/// `count_expired` counts exactly what a purge at that cutoff deletes.
pub async fn purge_count_matches_what_a_purge_deletes<B: Backend>(b: &B)
where
    B::Store: PurgeExpired,
{
    let h = hashed(b);
    let user = b.create_user(true).await;
    for _ in 0..3 {
        login::<B, _>(&h, &user).await;
    }
    h.clock.advance(TimeDelta::minutes(90));
    login::<B, _>(&h, &user).await;
    let cutoff = h.strategy.created_since().expect("a lifetime");
    let now = h.strategy.now();
    assert_eq!(h.strategy.store().count_expired(now, cutoff).await.unwrap(), 3);
    assert_eq!(h.strategy.purge_expired(NonZeroU32::new(10).unwrap()).await.unwrap(), 3);
    assert_eq!(h.strategy.store().count_expired(now, cutoff).await.unwrap(), 0);
}

/// A failing store fails the purge: an error, never "nothing to purge".
pub async fn failing_store_fails_the_purge<B: Backend>(b: &B)
where
    B::Store: PurgeExpired,
{
    let h = hashed(b);
    h.probe.set_failing(true);
    let result = h.strategy.purge_expired(NonZeroU32::new(10).unwrap()).await;
    assert!(matches!(result, Err(Error::Store(_))), "{result:?}");
}
