//! The cache's fail-closed states, on the in-memory store.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::*;
use crate::memory::MemoryStore;

fn row(key: &str, user: u64) -> AccessToken<u64> {
    AccessToken::new(key.to_owned(), user, Utc::now())
}

fn options() -> CacheOptions {
    CacheOptions { staleness_bound: Duration::from_secs(60), ..CacheOptions::default() }
}

async fn store_with(key: &str, user: u64) -> CachedStore<MemoryStore<u64>> {
    let store = CachedStore::new(MemoryStore::new(), options()).unwrap();
    store.create(row(key, user), None).await.unwrap();
    store
}

/// Reads `key` twice: the first fills, the second hits if the cache serves.
async fn read_twice(store: &CachedStore<MemoryStore<u64>>, key: &str) -> Option<u64> {
    store.get(key).await.unwrap();
    store.get(key).await.unwrap().map(|r| r.user_id)
}

#[tokio::test]
async fn no_hits_until_the_channel_proves_itself() {
    let store = store_with("a", 1).await;
    assert_eq!(read_twice(&store, "a").await, Some(1));
    assert_eq!(store.stats(), CacheStats { hits: 0, misses: 2 });
    assert!(!store.is_serving());
    store.revocation_sink().caught_up_to(Instant::now());
    assert!(store.is_serving());
    assert_eq!(read_twice(&store, "a").await, Some(1));
    assert_eq!(store.stats().hits, 2, "both reads hit the entry filled before the proof");
}

#[tokio::test]
async fn a_withdrawn_channel_serves_no_hits() {
    let store = store_with("a", 1).await;
    let sink = store.revocation_sink();
    sink.caught_up_to(Instant::now());
    read_twice(&store, "a").await;
    let hits = store.stats().hits;
    sink.withdraw();
    assert!(!store.is_serving());
    assert_eq!(read_twice(&store, "a").await, Some(1));
    assert_eq!(store.stats().hits, hits, "no hit while withdrawn");
}

#[tokio::test]
async fn resubscribing_drops_everything_cached() {
    let store = store_with("a", 1).await;
    let sink = store.revocation_sink();
    sink.caught_up_to(Instant::now());
    read_twice(&store, "a").await;
    // Deleted behind the cache's back while the channel was away (a lost message).
    store.inner().delete("a", &1).await.unwrap();
    sink.withdraw();
    sink.resubscribed();
    sink.caught_up_to(Instant::now());
    assert_eq!(store.get("a").await.unwrap(), None);
}

#[tokio::test]
async fn a_proof_older_than_the_bound_stops_hits() {
    let options = CacheOptions { staleness_bound: Duration::from_millis(20), ..options() };
    let store = CachedStore::new(MemoryStore::<u64>::new(), options).unwrap();
    store.create(row("a", 1), None).await.unwrap();
    store.revocation_sink().caught_up_to(Instant::now());
    read_twice(&store, "a").await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert!(!store.is_serving());
    let hits = store.stats().hits;
    read_twice(&store, "a").await;
    assert_eq!(store.stats().hits, hits);
}

#[tokio::test]
async fn revocations_from_the_channel_drop_entries() {
    let store = store_with("a", 1).await;
    store.create(row("b", 2), None).await.unwrap();
    store.create(row("c", 3), None).await.unwrap();
    let sink = store.revocation_sink();
    sink.caught_up_to(Instant::now());
    for key in ["a", "b", "c"] {
        read_twice(&store, key).await;
    }
    // Gone in the store (another process), then announced.
    for (key, user) in [("a", 1), ("b", 2), ("c", 3)] {
        store.inner().delete(key, &user).await.unwrap();
    }
    sink.apply(&Revocation::Tokens(vec!["a".into()])).await;
    assert_eq!(store.get("a").await.unwrap(), None);
    assert!(store.get("b").await.unwrap().is_some(), "b is still cached");
    sink.apply(&Revocation::User("2".into())).await;
    assert_eq!(store.get("b").await.unwrap(), None);
    sink.apply(&Revocation::All).await;
    assert_eq!(store.get("c").await.unwrap(), None);
}

#[tokio::test]
async fn a_fill_that_raced_an_invalidation_is_not_kept() {
    let store = store_with("a", 1).await;
    let sink = store.revocation_sink();
    sink.caught_up_to(Instant::now());
    let generation = store.shared.freshness.generation();
    // The read saw the row, then a revocation arrived before its fill.
    sink.apply(&Revocation::Tokens(vec!["a".into()])).await;
    store.shared.fill("a", CachedStore::<MemoryStore<u64>>::entry(&row("a", 1), None), generation);
    assert!(store.shared.entries.get("a").is_none());
}

struct Owner(u64);

impl crate::User for Owner {
    type Id = u64;

    fn id(&self) -> &u64 {
        &self.0
    }
}

/// The cache hands back the row it holds; the strategy judges its expiry on that row, so a
/// cached token past its lifetime authenticates nobody.
#[tokio::test]
async fn expired_entries_are_never_served() {
    let clock = crate::ManualClock::new(Utc::now());
    let store = CachedStore::new(MemoryStore::<u64>::new(), options()).unwrap();
    store.revocation_sink().caught_up_to(Instant::now());
    let strategy = crate::DatabaseStrategy::new(store, Some(Duration::from_secs(60)))
        .unwrap()
        .with_clock(clock.clone());
    let token = strategy.write_token(&Owner(7)).await.unwrap().into_secret();
    assert!(strategy.read_token_row(&token).await.unwrap().is_some());
    assert!(strategy.read_token_row(&token).await.unwrap().is_some());
    assert!(strategy.store().stats().hits >= 1, "the second read was a hit");
    clock.advance(chrono::TimeDelta::seconds(61));
    assert_eq!(strategy.read_token_row(&token).await.unwrap(), None);
}

/// M7: durations that would panic in the cache (moka refuses a time to live over 1,000 years)
/// or mean no bound are configuration errors.
#[test]
fn out_of_range_options_are_configuration_errors() {
    for options in [
        CacheOptions { max_age: Duration::MAX, ..options() },
        CacheOptions { max_age: Duration::from_secs(400 * 365 * 24 * 3600), ..options() },
        CacheOptions { max_age: Duration::ZERO, ..options() },
        CacheOptions { staleness_bound: Duration::MAX, ..options() },
        CacheOptions { staleness_bound: Duration::ZERO, ..options() },
        CacheOptions { max_entries: 0, ..options() },
    ] {
        let made = CachedStore::new(MemoryStore::<u64>::new(), options);
        assert!(matches!(made, Err(crate::Error::Config(_))), "{options:?}");
        assert!(CachedStore::local_only(MemoryStore::<u64>::new(), options).is_err());
    }
}

#[tokio::test]
async fn a_revoked_cached_token_is_refused_from_memory_even_while_withdrawn() {
    let store = store_with("a", 1).await;
    let sink = store.revocation_sink();
    sink.caught_up_to(Instant::now());
    read_twice(&store, "a").await;
    // Another process deleted it (the channel says so), and the store lost the row.
    sink.apply(&Revocation::Tokens(vec!["a".into(), "never-cached".into()])).await;
    store.inner().delete("a", &1).await.unwrap();
    sink.withdraw();
    let before = store.stats();
    assert_eq!(store.get("a").await.unwrap(), None);
    assert_eq!(store.stats().hits, before.hits + 1, "refused from the tombstone");
    // A key that was not cached left no tombstone: the store is asked.
    assert_eq!(store.get("never-cached").await.unwrap(), None);
    assert_eq!(store.stats().misses, before.misses + 1);
}

#[tokio::test]
async fn a_logout_with_the_wrong_owner_leaves_no_tombstone() {
    let store = store_with("a", 1).await;
    store.revocation_sink().caught_up_to(Instant::now());
    read_twice(&store, "a").await;
    assert!(!store.delete("a", &2).await.unwrap(), "another user's token was deleted");
    assert_eq!(read_twice(&store, "a").await, Some(1), "the owner's token was refused");
    assert!(store.delete("a", &1).await.unwrap());
    assert_eq!(store.get("a").await.unwrap(), None);
}
