//! Login throttling: a hook that runs before the password check, keyed by account and by client
//! address, with exponential back-off.
//!
//! Without it a login route lets anyone try passwords as fast as the server answers. With it, past
//! a few free failures each key is locked for a time that doubles with every further failure;
//! while locked, every attempt, a correct password included, is refused with 429 and
//! `Retry-After` (answering a correct password would tell the attacker it is correct).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use authtoken::{BoxError, Clock, SystemClock};
use chrono::{DateTime, TimeDelta, Utc};

/// What a login attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The username tried (lowercased: `Alice` and `alice` are one account to an attacker).
    Account(String),
    /// The client's address, as the server sees it (behind a proxy, the proxy's unless the
    /// adapter is told otherwise).
    Client(IpAddr),
}

/// Where login attempts are counted: the in-memory [`MemoryThrottle`] for one process, or an
/// implementation over a shared store (Redis) for several.
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// How long the caller must wait before trying again, if any of `keys` is locked.
    async fn locked_for(&self, keys: &[ThrottleKey]) -> Result<Option<Duration>, BoxError>;

    /// Counts a failed attempt against every key.
    async fn failed(&self, keys: &[ThrottleKey]) -> Result<(), BoxError>;

    /// A successful login: forgets the account's failures (not the client's: a valid account of
    /// the attacker's own must not reset the count of its address).
    async fn succeeded(&self, keys: &[ThrottleKey]) -> Result<(), BoxError>;
}

#[async_trait]
impl<T: LoginThrottle + ?Sized> LoginThrottle for Arc<T> {
    async fn locked_for(&self, keys: &[ThrottleKey]) -> Result<Option<Duration>, BoxError> {
        (**self).locked_for(keys).await
    }

    async fn failed(&self, keys: &[ThrottleKey]) -> Result<(), BoxError> {
        (**self).failed(keys).await
    }

    async fn succeeded(&self, keys: &[ThrottleKey]) -> Result<(), BoxError> {
        (**self).succeeded(keys).await
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
    last_seen: DateTime<Utc>,
}

/// Counts failures in memory: `free` failures per account (ten times as many per client address,
/// which many users may share), then a lock of `base` that doubles with each further failure, up
/// to `max`.
///
/// ```
/// use std::time::Duration;
/// use authtoken_http::{LoginThrottle, MemoryThrottle, ThrottleKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), authtoken::BoxError> {
/// let throttle = MemoryThrottle::new(); // 5 free failures, then 1 s, 2 s, 4 s, … up to 15 min
/// let keys = [ThrottleKey::Account("alice".into())];
/// for _ in 0..5 {
///     assert_eq!(throttle.locked_for(&keys).await?, None);
///     throttle.failed(&keys).await?;
/// }
/// throttle.failed(&keys).await?;
/// assert!(throttle.locked_for(&keys).await?.is_some());
/// # Ok(()) }
/// ```
pub struct MemoryThrottle {
    free: u32,
    client_free: u32,
    base: Duration,
    max: Duration,
    clock: Arc<dyn Clock>,
    records: Mutex<HashMap<ThrottleKey, Record>>,
}

/// Past this many keys, records idle for longer than the longest lock are dropped.
const PRUNE_AT: usize = 100_000;

impl MemoryThrottle {
    /// Five free failures, then 1 s doubling up to 15 minutes, on the system clock.
    pub fn new() -> Self {
        Self::with_limits(5, Duration::from_secs(1), Duration::from_secs(15 * 60))
    }

    /// `free` failures per key before the first lock of `base`, doubling up to `max`.
    pub fn with_limits(free: u32, base: Duration, max: Duration) -> Self {
        let client_free = free.saturating_mul(10);
        Self {
            free,
            client_free,
            base,
            max,
            clock: Arc::new(SystemClock),
            records: Mutex::default(),
        }
    }

    /// Free failures per client address before its first lock (default ten times the account's).
    pub fn with_client_limit(mut self, free: u32) -> Self {
        self.client_free = free;
        self
    }

    /// Reads the time from `clock` (a manual clock in tests).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn lock_after(&self, key: &ThrottleKey, failures: u32) -> Option<Duration> {
        let free = match key {
            ThrottleKey::Account(_) => self.free,
            ThrottleKey::Client(_) => self.client_free,
        };
        let over = failures.checked_sub(free)?;
        let doubled = self.base.saturating_mul(1u32.checked_shl(over.min(31)).unwrap_or(u32::MAX));
        Some(doubled.min(self.max))
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
            .field("free", &self.free)
            .field("client_free", &self.client_free)
            .field("base", &self.base)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl LoginThrottle for MemoryThrottle {
    async fn locked_for(&self, keys: &[ThrottleKey]) -> Result<Option<Duration>, BoxError> {
        let now = self.clock.now();
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = keys
            .iter()
            .filter_map(|key| records.get(key)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| (until - now).to_std().unwrap_or_default())
            .max();
        Ok(wait)
    }

    async fn failed(&self, keys: &[ThrottleKey]) -> Result<(), BoxError> {
        let now = self.clock.now();
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() > PRUNE_AT {
            let idle = TimeDelta::from_std(self.max).unwrap_or(TimeDelta::MAX);
            records.retain(|_, r| now.signed_duration_since(r.last_seen) < idle);
        }
        for key in keys {
            let record = records.entry(key.clone()).or_insert(Record {
                failures: 0,
                locked_until: None,
                last_seen: now,
            });
            record.failures = record.failures.saturating_add(1);
            record.last_seen = now;
            record.locked_until = self
                .lock_after(key, record.failures)
                .and_then(|lock| TimeDelta::from_std(lock).ok())
                .and_then(|lock| now.checked_add_signed(lock));
        }
        Ok(())
    }

    async fn succeeded(&self, keys: &[ThrottleKey]) -> Result<(), BoxError> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys.iter().filter(|k| matches!(k, ThrottleKey::Account(_))) {
            records.remove(key);
        }
        Ok(())
    }
}
