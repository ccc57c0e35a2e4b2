//! Login throttling in one process's memory. The contract, the keys and the policy live in
//! [`authtoken::throttle`]; stores shared by several processes are `authtoken_redis::RedisThrottle`
//! and `authtoken_sea_orm::SeaOrmThrottle`.
//!
//! Without a throttle a login route lets anyone try passwords as fast as the server answers.
//! With one, each attempt is counted before its password is checked; past a few free attempts
//! each key is locked for a time that doubles with every further attempt, and while locked every
//! attempt, a correct password included, is refused with 429 and `Retry-After` (answering a
//! correct password would tell the attacker it is correct).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use authtoken::throttle::{ThrottleCount, ThrottlePolicy};
use authtoken::{BoxError, Clock, SystemClock};
use moka::ops::compute::Op;

pub use authtoken::throttle::{LoginThrottle, Reservation, ThrottleKey};

/// The most keys kept: each costs well under a hundred bytes, so the map stays within a few
/// tens of MiB whatever an attacker sends; past it the least useful keys go first.
pub const MAX_THROTTLE_KEYS: u64 = 200_000;

/// Counts attempts in memory, for one process (several processes each count alone: share a
/// `RedisThrottle` or `SeaOrmThrottle` between them). Bounded in size, keyed by fixed-size keys,
/// each key's count forgotten after the policy's window.
///
/// ```
/// use authtoken_http::{LoginThrottle, MemoryThrottle, Reservation, ThrottleKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), authtoken::BoxError> {
/// let throttle = MemoryThrottle::new(); // 5 free attempts, then 1 s, 2 s, 4 s, … up to 15 min
/// let keys = [ThrottleKey::account("alice")];
/// for _ in 0..5 {
///     assert_eq!(throttle.reserve(&keys).await?, Reservation::Granted);
/// }
/// assert!(matches!(throttle.reserve(&keys).await?, Reservation::Locked(_)));
/// # Ok(()) }
/// ```
pub struct MemoryThrottle {
    policy: ThrottlePolicy,
    clock: Arc<dyn Clock>,
    counts: moka::sync::Cache<ThrottleKey, ThrottleCount>,
}

impl MemoryThrottle {
    /// The default policy ([`ThrottlePolicy::default`]) on the system clock.
    pub fn new() -> Self {
        Self::with_policy(ThrottlePolicy::default())
    }

    /// `free` attempts per account before a lock of `base`, doubling up to `max`
    /// ([`ThrottlePolicy::new`]).
    pub fn with_limits(free: u32, base: Duration, max: Duration) -> authtoken::Result<Self> {
        Ok(Self::with_policy(ThrottlePolicy::new(free, base, max)?))
    }

    /// Counts by `policy`.
    pub fn with_policy(policy: ThrottlePolicy) -> Self {
        // Entries live a window of real time at most; the policy reads its own clock too, so a
        // manual clock in tests still sees counts expire.
        let window = Duration::from_millis(u64::try_from(policy.window_ms()).unwrap_or(0));
        // LRU rather than moka's default admission policy: a new key is always kept (one refused
        // admission would leave it uncounted); flushing a victim's count takes
        // `MAX_THROTTLE_KEYS` other attempts, each of them counted against its own client.
        let counts = moka::sync::Cache::builder()
            .max_capacity(MAX_THROTTLE_KEYS)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .time_to_live(window)
            .build();
        Self { policy, clock: Arc::new(SystemClock), counts }
    }

    /// Reads the time from `clock` (a manual clock in tests).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

impl Default for MemoryThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryThrottle")
            .field("policy", &self.policy)
            .field("keys", &self.counts.entry_count())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl LoginThrottle for MemoryThrottle {
    async fn reserve(&self, keys: &[ThrottleKey]) -> Result<Reservation, BoxError> {
        let now = self.now_ms();
        // Client keys first: a locked address must not spend the account's attempts.
        let mut ordered: Vec<&ThrottleKey> = keys.iter().collect();
        ordered.sort_by_key(|key| key.is_account());
        for key in ordered {
            let mut refused = None;
            // Per key, the check and the count are one step under moka's entry lock.
            self.counts.entry(*key).and_compute_with(|current| {
                let count = current.map(|entry| entry.into_value()).unwrap_or_default();
                let (next, locked) = self.policy.reserve(count, now, !key.is_account());
                refused = locked;
                if locked.is_some() { Op::Nop } else { Op::Put(next) }
            });
            if let Some(wait) = refused {
                return Ok(Reservation::Locked(wait));
            }
        }
        Ok(Reservation::Granted)
    }

    async fn succeeded(&self, keys: &[ThrottleKey]) -> Result<(), BoxError> {
        for key in keys {
            self.counts.entry(*key).and_compute_with(|current| match current {
                Some(entry) => Op::Put(self.policy.release(entry.into_value(), !key.is_account())),
                None => Op::Nop,
            });
        }
        Ok(())
    }
}
