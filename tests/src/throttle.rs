//! The shared login throttle's spec, for every throttle store: what a burst gets, what two
//! processes sharing the store get, what a success gives back, how locks grow and counts decay.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use authtoken::ManualClock;
use authtoken::throttle::{LoginThrottle, Reservation, ThrottleKey, ThrottlePolicy};
use chrono::TimeDelta;

/// The account every burst aims at.
pub const ACCOUNT: &str = "ada";

/// The spec's policy: 5 free attempts per account, 12 per client, then a minute (long enough
/// that no lock ends by itself while a test runs on a slow machine), doubling up to ten minutes,
/// counts kept an hour.
pub fn policy() -> ThrottlePolicy {
    ThrottlePolicy::new(5, Duration::from_secs(60), Duration::from_secs(600))
        .and_then(|p| p.with_client_limit(12))
        .and_then(|p| p.with_window(Duration::from_secs(3600)))
        .expect("a valid policy")
}

/// `attempts` reservations for [`ACCOUNT`] at once, spread over `throttles` in turn; how many
/// were granted.
pub async fn burst(throttles: &[Arc<dyn LoginThrottle>], attempts: usize) -> usize {
    let tasks: Vec<_> = (0..attempts)
        .map(|i| {
            let throttle = Arc::clone(&throttles[i % throttles.len()]);
            tokio::spawn(async move {
                throttle.reserve(&[ThrottleKey::account(ACCOUNT)]).await.expect("a reservation")
            })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        if task.await.expect("the task") == Reservation::Granted {
            granted += 1;
        }
    }
    granted
}

/// Every key the spec and the peers count against, for a shared store's clean-up.
pub fn keys_used() -> Vec<ThrottleKey> {
    let mut keys: Vec<ThrottleKey> = ["ada", "bob"].into_iter().map(ThrottleKey::account).collect();
    keys.extend((0..12).map(|i| ThrottleKey::account(&format!("user{i}"))));
    keys.push(ThrottleKey::client("2001:db8::1".parse().expect("an address")));
    keys
}

async fn reserve(throttle: &Arc<dyn LoginThrottle>, keys: &[ThrottleKey]) -> Reservation {
    throttle.reserve(keys).await.expect("a reservation")
}

/// Runs every case; `open` gives a new handle (its own connection, as another process would
/// have) onto one fresh shared count, reading `clock`.
pub async fn run<F, Fut>(open: F)
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = Arc<dyn LoginThrottle>>,
{
    let clock = ManualClock::new(chrono::Utc::now());
    let first = open(clock.clone()).await;
    let second = open(clock.clone()).await;

    // H1: 60 attempts at once through two handles: the 5 free ones, no more.
    assert_eq!(burst(&[Arc::clone(&first), Arc::clone(&second)], 60).await, 5);
    let locked = reserve(&second, &[ThrottleKey::account(ACCOUNT)]).await;
    assert!(
        matches!(locked, Reservation::Locked(wait) if wait <= Duration::from_secs(60)
            && wait > Duration::from_secs(50)),
        "{locked:?}"
    );

    // The lock ends after a minute; the next attempt is counted and locks for two.
    clock.advance(TimeDelta::seconds(61));
    let ada = [ThrottleKey::account(ACCOUNT)];
    assert_eq!(reserve(&first, &ada).await, Reservation::Granted);
    clock.advance(TimeDelta::seconds(61));
    assert!(matches!(reserve(&second, &ada).await, Reservation::Locked(_)), "doubled");
    clock.advance(TimeDelta::seconds(60));
    assert_eq!(reserve(&second, &ada).await, Reservation::Granted);

    // A success gives its reservation back and ends the account's lock, for every handle, but
    // forgets none of the failures: a burst behind it gets one attempt, which locks again (an
    // owner logging in during an attack must not hand the attacker a fresh allowance).
    first.succeeded(&ada).await.expect("a success");
    assert_eq!(burst(&[Arc::clone(&first), Arc::clone(&second)], 8).await, 1);

    // Counts decay: an hour after its first attempt a key starts again.
    clock.advance(TimeDelta::seconds(3601));
    assert_eq!(burst(&[Arc::clone(&first)], 8).await, 5);

    // A client address is counted before the account: once locked, its attempts spend nothing
    // of the account's (bob keeps his 5 after the address's 12 are gone).
    let client = ThrottleKey::client("2001:db8::1".parse().expect("an address"));
    let same_net = ThrottleKey::client("2001:db8::ffff:2".parse().expect("an address"));
    for i in 0..12 {
        let name = format!("user{i}");
        let keys = [ThrottleKey::account(&name), client];
        assert_eq!(reserve(&first, &keys).await, Reservation::Granted, "{name}");
    }
    let bob = ThrottleKey::account("bob");
    for _ in 0..3 {
        assert!(matches!(reserve(&second, &[bob, same_net]).await, Reservation::Locked(_)));
    }
    assert_eq!(burst_for(&first, bob, 8).await, 5, "bob's attempts were not spent");

    // A success gives the client's reservation back but does not unlock the address.
    first.succeeded(&[bob, client]).await.expect("a success");
    assert!(matches!(reserve(&first, &[client]).await, Reservation::Locked(_)));
}

async fn burst_for(throttle: &Arc<dyn LoginThrottle>, key: ThrottleKey, attempts: usize) -> usize {
    let mut granted = 0;
    for _ in 0..attempts {
        if reserve(throttle, &[key]).await == Reservation::Granted {
            granted += 1;
        }
    }
    granted
}
