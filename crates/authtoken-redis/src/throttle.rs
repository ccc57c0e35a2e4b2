//! [`RedisThrottle`]: login attempts counted in Redis, shared by every process of a deployment.

use std::time::Duration;

use async_trait::async_trait;
use authtoken::throttle::{LoginThrottle, Reservation, ThrottleKey, ThrottlePolicy};
use authtoken::{BoxError, Clock, SystemClock};
use redis::Script;
use std::sync::Arc;

use crate::RedisStore;

/// One key's reservation, as `ThrottlePolicy::reserve` computes it, in one script so that the
/// check and the count are one step for every process. The hash holds `n` (attempts), `w` (the
/// window's start) and `l` (locked until), in Unix ms; it expires with its window.
/// ARGV: now, free, base, max, window. Answers 0 (granted) or the milliseconds to wait.
const RESERVE: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[5])
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local w = tonumber(redis.call('HGET', KEYS[1], 'w') or '0')
local l = tonumber(redis.call('HGET', KEYS[1], 'l') or '0')
if n == 0 or now >= w + window then n = 0; l = 0 end
if l > now then return l - now end
if n == 0 then w = now end
n = n + 1
local over = n - tonumber(ARGV[2])
if over >= 0 then
  l = now + math.min(tonumber(ARGV[3]) * 2 ^ math.min(over, 20), tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[1], 'n', string.format('%.0f', n), 'w', string.format('%.0f', w),
  'l', string.format('%.0f', l))
-- Relative to the callers' clock: Redis's own may differ from theirs.
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.max(w + window - now, 1)))
return 0
";

/// A reservation given back after a successful login, as `ThrottlePolicy::release` computes it:
/// the count one lower and, for an account (ARGV[1] = 1), the lock ended.
const RELEASE: &str = r"
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n > 0 then redis.call('HSET', KEYS[1], 'n', n - 1) end
if ARGV[1] == '1' and n > 0 then redis.call('HSET', KEYS[1], 'l', '0') end
return 0
";

/// Counts login attempts in Redis (one server or a cluster), so that every process sharing it
/// shares the allowance: N processes allow what one does, not N times as much. Keys are
/// `{prefix}throttle:a:{sha-256 of the name}` and `{prefix}throttle:c:{address}`, each expiring
/// with its window; the counting is a script, atomic per key.
///
/// ```no_run
/// use authtoken_redis::{RedisStore, RedisThrottle};
/// use authtoken::throttle::ThrottlePolicy;
///
/// # async fn run() -> authtoken::Result<()> {
/// let store = RedisStore::<u64>::connect("redis://127.0.0.1:6379").await?;
/// let throttle = RedisThrottle::new(&store, ThrottlePolicy::default());
/// // AuthRoutes::new(auth, "bearer", credentials)?.with_throttle(throttle)
/// # Ok(()) }
/// ```
pub struct RedisThrottle {
    store: RedisStore<()>,
    policy: ThrottlePolicy,
    clock: Arc<dyn Clock>,
    reserve: Script,
    release: Script,
}

impl RedisThrottle {
    /// Counts on `store`'s connection, under its prefix and timeout.
    pub fn new<Id>(store: &RedisStore<Id>, policy: ThrottlePolicy) -> Self {
        Self {
            store: store.erased(),
            policy,
            clock: Arc::new(SystemClock),
            reserve: Script::new(RESERVE),
            release: Script::new(RELEASE),
        }
    }

    /// Reads the time from `clock`. Every process sharing the keys must read the same time
    /// (the system clocks of one deployment, kept in step).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Forgets the counts of `keys` (an operator unlocking an account or an address).
    pub async fn unlock(&self, keys: &[ThrottleKey]) -> authtoken::Result<()> {
        for key in keys {
            self.store.query::<i64>(redis::cmd("DEL").arg(self.key(key))).await?;
        }
        Ok(())
    }

    fn key(&self, key: &ThrottleKey) -> String {
        format!("{}throttle:{}", self.store.prefix(), key.storage_key())
    }
}

impl std::fmt::Debug for RedisThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisThrottle")
            .field("store", &self.store)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl LoginThrottle for RedisThrottle {
    async fn reserve(&self, keys: &[ThrottleKey]) -> Result<Reservation, BoxError> {
        let now = self.clock.now().timestamp_millis();
        // Client keys first: a locked address must not spend the account's attempts.
        let mut ordered: Vec<&ThrottleKey> = keys.iter().collect();
        ordered.sort_by_key(|key| key.is_account());
        for key in ordered {
            let args = [
                now,
                i64::from(self.policy.free_for(key)),
                self.policy.base_ms(),
                self.policy.max_ms(),
                self.policy.window_ms(),
            ]
            .map(|n| n.to_string());
            let wait: i64 = self.store.script(&self.reserve, &self.key(key), &args).await?;
            if wait > 0 {
                let wait = u64::try_from(wait).unwrap_or(0);
                return Ok(Reservation::Locked(Duration::from_millis(wait)));
            }
        }
        Ok(Reservation::Granted)
    }

    async fn succeeded(&self, keys: &[ThrottleKey]) -> Result<(), BoxError> {
        for key in keys {
            let end_lock = if key.is_account() { "1" } else { "0" };
            self.store.script::<i64>(&self.release, &self.key(key), &[end_lock.into()]).await?;
        }
        Ok(())
    }
}
