//! Login throttling: the contract a throttle store meets, the keys it counts against and the
//! policy every store applies the same way.
//!
//! The rule that makes a throttle hold under a burst: an attempt is **counted before the password
//! is checked**, atomically with the check that it is allowed ([`LoginThrottle::reserve`]). A
//! check-then-count throttle lets every request that arrives while the first password is being
//! verified (hundreds of milliseconds of argon2) through; a reserving one lets `free` of them
//! through and refuses the rest, whatever their number. A correct password gives its own
//! reservation back and ends the account's lock ([`LoginThrottle::succeeded`]), but never forgets
//! the failures counted beside it: a success that lands in the middle of a burst must not hand
//! the burst a fresh allowance.
//!
//! Stores: `authtoken_http::MemoryThrottle` (one process), `authtoken_redis::RedisThrottle` and
//! `authtoken_sea_orm::SeaOrmThrottle` (shared by every process of a deployment).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::BoxError;

/// The longest username, in bytes, that reaches a throttle key: a longer one is cut (at a
/// character boundary) before it is hashed, so that a 16 KiB username costs what a short one does.
pub const MAX_USERNAME_BYTES: usize = 256;

/// What a login attempt is counted against. Both kinds are fixed-size: an account is known by a
/// hash of its normalised name, an IPv6 client by its /64 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// SHA-256 of the normalised username ([`ThrottleKey::account`]).
    Account([u8; 32]),
    /// The client's address: an IPv4 address, or the first 64 bits of an IPv6 one (a single
    /// host is usually given a whole /64, so its addresses are one client).
    Client(IpAddr),
}

impl ThrottleKey {
    /// The key of the account `username` names, after [`normalize_username`].
    ///
    /// ```
    /// use authtoken::throttle::ThrottleKey;
    ///
    /// assert_eq!(ThrottleKey::account("Alice "), ThrottleKey::account("alice\0"));
    /// assert_ne!(ThrottleKey::account("alice"), ThrottleKey::account("bob"));
    /// ```
    pub fn account(username: &str) -> Self {
        Self::Account(Sha256::digest(normalize_username(username).as_bytes()).into())
    }

    /// The key of the client at `address`: IPv6 addresses grouped by /64, an IPv4-mapped IPv6
    /// address read as the IPv4 one.
    ///
    /// ```
    /// use authtoken::throttle::ThrottleKey;
    ///
    /// let a = ThrottleKey::client("2001:db8:1:2::1".parse().unwrap());
    /// let b = ThrottleKey::client("2001:db8:1:2:ffff::9".parse().unwrap());
    /// assert_eq!(a, b);
    /// assert_ne!(a, ThrottleKey::client("2001:db8:1:3::1".parse().unwrap()));
    /// ```
    pub fn client(address: IpAddr) -> Self {
        Self::Client(match address {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
            },
        })
    }

    /// A short, printable, fixed-size name for a shared store (`a:` and 64 hex digits, or `c:`
    /// and the address).
    pub fn storage_key(&self) -> String {
        match self {
            Self::Account(hash) => {
                let mut key = String::with_capacity(66);
                key.push_str("a:");
                for byte in hash {
                    key.push_str(&format!("{byte:02x}"));
                }
                key
            }
            Self::Client(address) => format!("c:{address}"),
        }
    }

    /// Whether this is an account key (a success ends its lock).
    pub fn is_account(&self) -> bool {
        matches!(self, Self::Account(_))
    }
}

/// A username as a throttle sees it: cut to [`MAX_USERNAME_BYTES`], control characters removed,
/// surrounding white space trimmed, lowercased. `alice`, `Alice`, `alice ` and `alice\0` are one
/// account to an attacker, whatever the application's user lookup makes of them.
///
/// ```
/// assert_eq!(authtoken::throttle::normalize_username(" Al\u{0}ice\t"), "alice");
/// ```
pub fn normalize_username(username: &str) -> String {
    let mut end = username.len().min(MAX_USERNAME_BYTES);
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    let cleaned: String = username[..end].chars().filter(|c| !c.is_control()).collect();
    cleaned.trim().to_lowercase()
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt is counted (as a failure until [`LoginThrottle::succeeded`] says otherwise):
    /// check the password.
    Granted,
    /// A key is locked for this long: refuse without checking the password (a correct password
    /// is refused too, or the answer would tell that it is correct).
    Locked(Duration),
}

/// Where login attempts are counted.
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Counts an attempt against every key, unless one of them is locked: in that case nothing
    /// more is counted and the answer says how long to wait. Atomic per key: of N concurrent
    /// reservations on a key with `free` attempts left, at most `free` are granted.
    async fn reserve(&self, keys: &[ThrottleKey]) -> Result<Reservation, BoxError>;

    /// The password was right: gives the attempt's reservation back on every key and ends the
    /// account's lock ([`ThrottlePolicy::release`]). The failures counted beside it stay until
    /// their window ends: forgetting them would hand a concurrent burst a fresh allowance the
    /// moment the owner logs in. The client's lock stays too: a valid account of the attacker's
    /// own must not unlock the address it guesses from.
    async fn succeeded(&self, keys: &[ThrottleKey]) -> Result<(), BoxError>;
}

#[async_trait]
impl<T: LoginThrottle + ?Sized> LoginThrottle for Arc<T> {
    async fn reserve(&self, keys: &[ThrottleKey]) -> Result<Reservation, BoxError> {
        (**self).reserve(keys).await
    }

    async fn succeeded(&self, keys: &[ThrottleKey]) -> Result<(), BoxError> {
        (**self).succeeded(keys).await
    }
}

/// One key's count, as every throttle store keeps it. Times are Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleCount {
    /// Attempts counted in this window.
    pub attempts: u32,
    /// When the window began (its first counted attempt).
    pub window_start: i64,
    /// Until when the key is locked (0: not locked).
    pub locked_until: i64,
}

/// How many attempts are free and how long the locks after them last; the same for every store.
///
/// Each key has `free` attempts (ten times as many for a client address, which many users may
/// share); the attempt that uses the last one locks the key for `base`, and each attempt after a
/// lock has ended locks it for twice as long as the one before, up to `max`. A key's count is
/// forgotten `window` after its first attempt, whatever came after: counts decay, so that one
/// attempt per lock period cannot keep an account locked for ever.
///
/// ```
/// use std::time::Duration;
/// use authtoken::throttle::{ThrottleCount, ThrottlePolicy};
///
/// let policy = ThrottlePolicy::default(); // 5 free, then 1 min doubling up to 15 min, 15 min window
/// let mut count = ThrottleCount::default();
/// for _ in 0..5 {
///     let (next, locked) = policy.reserve(count, 1_000, false);
///     assert_eq!(locked, None);
///     count = next;
/// }
/// assert_eq!(policy.reserve(count, 1_000, false).1, Some(Duration::from_secs(60)));
/// assert_eq!(policy.reserve(count, 61_000, false).1, None); // the lock has ended
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    free: u32,
    client_free: u32,
    base: Duration,
    max: Duration,
    window: Duration,
}

/// The longest lock or window a policy takes: a day.
pub const MAX_THROTTLE_PERIOD: Duration = Duration::from_secs(24 * 3600);

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free: 5,
            client_free: 50,
            // A minute, as most login forms lock: long enough that no burst, however slowly a
            // loaded server takes it in, outlasts the first lock and gets a sixth attempt.
            base: Duration::from_secs(60),
            max: Duration::from_secs(15 * 60),
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl ThrottlePolicy {
    /// `free` attempts per account (ten times as many per client) before a lock of `base`,
    /// doubling up to `max`; the window is `max`. `free` must be at least 1, `base` at least a
    /// millisecond and at most `max`, `max` at most [`MAX_THROTTLE_PERIOD`].
    pub fn new(free: u32, base: Duration, max: Duration) -> crate::Result<Self> {
        if free == 0 {
            return Err(crate::Error::Config("a throttle needs at least one free attempt"));
        }
        if base < Duration::from_millis(1) || base > max || max > MAX_THROTTLE_PERIOD {
            return Err(crate::Error::Config(
                "a throttle's base lock must be between 1 ms and its longest lock, at most a day",
            ));
        }
        Ok(Self { free, client_free: free.saturating_mul(10), base, max, window: max })
    }

    /// Free attempts per client address (default ten times the account's; at least 1).
    pub fn with_client_limit(mut self, free: u32) -> crate::Result<Self> {
        if free == 0 {
            return Err(crate::Error::Config("a throttle needs at least one free attempt"));
        }
        self.client_free = free;
        Ok(self)
    }

    /// How long a key's count is kept after its first attempt (default: the longest lock; at
    /// least that, at most [`MAX_THROTTLE_PERIOD`]).
    pub fn with_window(mut self, window: Duration) -> crate::Result<Self> {
        if window < self.max || window > MAX_THROTTLE_PERIOD {
            return Err(crate::Error::Config(
                "a throttle's window must be between its longest lock and a day",
            ));
        }
        self.window = window;
        Ok(self)
    }

    /// How long a store keeps a key: the window, in milliseconds.
    pub fn window_ms(&self) -> i64 {
        duration_ms(self.window)
    }

    /// The first lock, in milliseconds.
    pub fn base_ms(&self) -> i64 {
        duration_ms(self.base)
    }

    /// The longest lock, in milliseconds.
    pub fn max_ms(&self) -> i64 {
        duration_ms(self.max)
    }

    /// Free attempts for `key`'s kind.
    pub fn free_for(&self, key: &ThrottleKey) -> u32 {
        if key.is_account() { self.free } else { self.client_free }
    }

    /// The next state of a key whose count is `count`, for an attempt at `now` (Unix ms), and
    /// the lock that refuses it, if any (then the count is unchanged). `is_client` picks the
    /// client allowance.
    pub fn reserve(
        &self,
        count: ThrottleCount,
        now: i64,
        is_client: bool,
    ) -> (ThrottleCount, Option<Duration>) {
        let mut count = self.current(count, now);
        if count.locked_until > now {
            let wait = u64::try_from(count.locked_until - now).unwrap_or(0);
            return (count, Some(Duration::from_millis(wait)));
        }
        if count.attempts == 0 {
            count.window_start = now;
        }
        count.attempts = count.attempts.saturating_add(1);
        let free = if is_client { self.client_free } else { self.free };
        if let Some(over) = count.attempts.checked_sub(free) {
            let lock = self.base.saturating_mul(1u32 << over.min(20)).min(self.max);
            count.locked_until = now.saturating_add(duration_ms(lock));
        }
        (count, None)
    }

    /// `count` as seen at `now`: empty once its window has passed.
    pub fn current(&self, count: ThrottleCount, now: i64) -> ThrottleCount {
        if count.attempts == 0 || now >= count.window_start.saturating_add(self.window_ms()) {
            ThrottleCount::default()
        } else {
            count
        }
    }

    /// A successful login's effect on a key's count: its reservation given back and, for an
    /// account (`is_client` false), its lock ended. The other attempts stay counted, so each
    /// success lets at most one more attempt through a lock, never a new allowance.
    ///
    /// ```
    /// use authtoken::throttle::{ThrottleCount, ThrottlePolicy};
    ///
    /// let policy = ThrottlePolicy::default();
    /// let locked = ThrottleCount { attempts: 5, window_start: 0, locked_until: 60_000 };
    /// let account = policy.release(locked, false);
    /// assert_eq!((account.attempts, account.locked_until), (4, 0));
    /// let client = policy.release(locked, true);
    /// assert_eq!((client.attempts, client.locked_until), (4, 60_000));
    /// ```
    pub fn release(&self, count: ThrottleCount, is_client: bool) -> ThrottleCount {
        ThrottleCount {
            attempts: count.attempts.saturating_sub(1),
            locked_until: if is_client { count.locked_until } else { 0 },
            ..count
        }
    }
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_doubles_after_each_attempt_past_the_allowance_and_the_window_forgets() {
        let policy =
            ThrottlePolicy::new(2, Duration::from_secs(1), Duration::from_secs(60)).unwrap();
        let (c, l) = policy.reserve(ThrottleCount::default(), 0, false);
        assert_eq!((c.attempts, c.locked_until, l), (1, 0, None));
        let (c, l) = policy.reserve(c, 10, false);
        assert_eq!((c.attempts, c.locked_until, l), (2, 1_010, None));
        assert_eq!(policy.reserve(c, 500, false).1, Some(Duration::from_millis(510)));
        let (c, l) = policy.reserve(c, 1_010, false);
        assert_eq!((c.attempts, c.locked_until, l), (3, 3_010, None));
        // A minute after the first attempt, the count is forgotten.
        let (c, l) = policy.reserve(c, 60_000, false);
        assert_eq!((c.attempts, c.window_start, l), (1, 60_000, None));
    }

    #[test]
    fn long_runs_of_attempts_never_overflow() {
        let policy = ThrottlePolicy::default();
        let mut count = ThrottleCount { attempts: u32::MAX - 1, window_start: 0, locked_until: 0 };
        for _ in 0..3 {
            count = policy.reserve(count, 1, true).0;
        }
        assert_eq!(count.attempts, u32::MAX);
        assert_eq!(count.locked_until, 1 + 15 * 60 * 1000);
    }

    #[test]
    fn usernames_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_USERNAME_BYTES);
        assert_eq!(normalize_username(&long).len(), MAX_USERNAME_BYTES);
        let odd = format!("a{}", "é".repeat(MAX_USERNAME_BYTES));
        assert_eq!(normalize_username(&odd).len(), MAX_USERNAME_BYTES - 1);
        assert_eq!(ThrottleKey::account(&odd), ThrottleKey::account(&format!("{odd}tail")));
    }

    #[test]
    fn mapped_ipv4_addresses_are_the_ipv4_client() {
        let mapped = ThrottleKey::client("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(mapped, ThrottleKey::client("192.0.2.1".parse().unwrap()));
        assert_eq!(mapped.storage_key(), "c:192.0.2.1");
        assert_eq!(ThrottleKey::account("x").storage_key().len(), 66);
    }
}
