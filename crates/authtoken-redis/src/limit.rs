//! The per-user token limit on Redis: a short lock per user around "read the user's tokens,
//! revoke or refuse, store".
//!
//! A user's tokens live in keys of many slots (one per token, as fastapi-users names them), so
//! no one script can see them all on a cluster. The limit therefore takes a lock key per user
//! (`SET {prefix}user-lock:{id} <nonce> NX PX`, one key, one slot), does its steps through the
//! store's ordinary calls, and releases the lock only if it still holds it. The steps are
//! bounded well inside the lock's expiry, so a holder never outlives its lock; a holder that
//! dies (or whose future is dropped) leaves a lock that expires, or is released in the
//! background.

use std::collections::hash_map::RandomState;
use std::fmt::Display;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::time::Duration;

use authtoken::LimitTokens;
use authtoken::limit::{Liveness, TokenLimit, create_under_lock};
use authtoken::store::AccessToken;
use authtoken::{Error, Result, UserId};
use chrono::{DateTime, Utc};
use redis::Script;

use crate::RedisStore;

/// How long a lock holds unless released.
const LOCK_EXPIRY: Duration = Duration::from_secs(10);

/// How long a holder may take for its steps: well inside the expiry.
const HOLD_LIMIT: Duration = Duration::from_secs(4);

/// How long a login waits for another login of the same user to finish.
const WAIT_LIMIT: Duration = Duration::from_secs(8);

/// Deletes the lock only if it still holds this holder's nonce.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

impl<Id> LimitTokens for RedisStore<Id>
where
    Id: UserId + Display + FromStr,
{
    async fn create_within_limit(
        &self,
        row: AccessToken<Id>,
        expires_at: Option<DateTime<Utc>>,
        limit: TokenLimit,
        live: Liveness,
    ) -> Result<Vec<String>> {
        let user = row.user_id.clone();
        let lock = UserLock::acquire(self, &user).await?;
        // Counted from before the call that took the lock: the steps end (or are abandoned)
        // well before the lock can expire, however long that call took to answer.
        let held_until = lock.sent + HOLD_LIMIT;
        let rows = self.rows_of(&user, false);
        let outcome = create_under_lock(self, row, expires_at, limit, live, held_until, rows).await;
        lock.release().await;
        outcome
    }
}

/// A held per-user lock. Dropped unreleased (its future cancelled), it releases itself in the
/// background.
struct UserLock {
    store: RedisStore<()>,
    key: String,
    nonce: String,
    released: bool,
    /// When the call that took the lock was sent (the lock expires `LOCK_EXPIRY` after Redis
    /// received it, so no earlier than this plus the expiry).
    sent: tokio::time::Instant,
}

impl UserLock {
    async fn acquire<Id: Display>(store: &RedisStore<Id>, user: &Id) -> Result<Self> {
        let key = format!("{}user-lock:{user}", store.prefix());
        let nonce = format!("{:016x}", RandomState::new().build_hasher().finish());
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        let mut pause = Duration::from_millis(1);
        loop {
            let mut set = redis::cmd("SET");
            set.arg(&key).arg(&nonce).arg("NX").arg("PX").arg(LOCK_EXPIRY.as_millis() as u64);
            let sent = tokio::time::Instant::now();
            let taken: Option<String> = tokio::time::timeout(HOLD_LIMIT, store.query(&set))
                .await
                .map_err(|_| Error::store("Redis did not answer the per-user lock in time"))??;
            if taken.is_some() {
                let store = store.erased();
                return Ok(Self { store, key, nonce, released: false, sent });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::store(
                    "timed out waiting for another login of the same user (per-user limit)",
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(16));
        }
    }

    async fn release(mut self) {
        self.released = true;
        release(&self.store, &self.key, &self.nonce).await;
    }
}

impl Drop for UserLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (store, key, nonce) = (
                self.store.clone(),
                std::mem::take(&mut self.key),
                std::mem::take(&mut self.nonce),
            );
            runtime.spawn(async move { release(&store, &key, &nonce).await });
        }
    }
}

/// Releases the lock if `nonce` still holds it; a failure leaves it to expire.
async fn release(store: &RedisStore<()>, key: &str, nonce: &str) {
    let script = Script::new(RELEASE);
    // On failure the lock expires by itself within `LOCK_EXPIRY`.
    let _ = store.script::<i64>(&script, key, &[nonce.to_owned()]).await;
}
