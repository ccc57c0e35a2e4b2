//! The per-user token limit on MongoDB: a short lock per user around "read the user's tokens,
//! revoke or refuse, store".
//!
//! A lock is a document in `{collection}_locks` keyed by the user (`_id` is unique, so one
//! insert wins), with its holder's nonce and an expiry; it is deleted by its holder only. A
//! lock whose holder died is taken over once well past its expiry (a margin for hosts' clocks
//! that disagree). The steps are bounded well inside the
//! expiry, so a holder never outlives its lock; a holder whose future is dropped releases it in
//! the background. (Multi-document transactions would need a replica set; this works on any
//! deployment.)

use std::collections::hash_map::RandomState;
use std::future::IntoFuture;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use authtoken::LimitTokens;
use authtoken::limit::{Liveness, TokenLimit, create_under_lock};
use authtoken::store::{AccessToken, ListTokens};
use authtoken::{Error, Result};
use chrono::{DateTime, Utc};
use mongodb::Collection;
use mongodb::bson::{Document, doc};

use crate::documents::date;
use crate::{MongoStore, MongoUserId};

/// How long a lock holds unless released.
const LOCK_EXPIRY: Duration = Duration::from_secs(10);

/// How long a holder may take for its steps: well inside the expiry.
const HOLD_LIMIT: Duration = Duration::from_secs(4);

/// How long a login waits for another login of the same user to finish.
const WAIT_LIMIT: Duration = Duration::from_secs(8);

/// How far past its expiry, by this machine's clock, a lock must be before it is taken over:
/// room for the clocks of two application hosts to disagree.
const TAKEOVER_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Bounds a lock call (the store's own timeout may be unset).
const CALL_LIMIT: Duration = Duration::from_secs(2);

impl<Id: MongoUserId> LimitTokens for MongoStore<Id> {
    async fn create_within_limit(
        &self,
        row: AccessToken<Id>,
        expires_at: Option<DateTime<Utc>>,
        limit: TokenLimit,
        live: Liveness,
    ) -> Result<Vec<String>> {
        let user = row.user_id.clone();
        let lock = UserLock::acquire(self, &user.to_string()).await?;
        // Counted from before the call that took the lock: the steps end (or are abandoned)
        // well before the lock can expire, however long that call took to answer.
        let held_until = lock.sent + HOLD_LIMIT;
        let rows = self.list_of_user(&user);
        let outcome = create_under_lock(self, row, expires_at, limit, live, held_until, rows).await;
        lock.release().await;
        outcome
    }
}

/// A held per-user lock. Dropped unreleased (its future cancelled), it releases itself in the
/// background.
struct UserLock {
    locks: Collection<Document>,
    filter: Option<Document>,
    /// When the insert that took the lock was sent.
    sent: tokio::time::Instant,
}

impl UserLock {
    async fn acquire<Id: MongoUserId>(store: &MongoStore<Id>, user: &str) -> Result<Self> {
        let locks =
            store.database.collection::<Document>(&format!("{}_locks", store.layout.collection));
        let nonce = format!("{:016x}", RandomState::new().build_hasher().finish());
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        let mut pause = Duration::from_millis(1);
        loop {
            let now = Utc::now();
            let until = now + chrono::TimeDelta::from_std(LOCK_EXPIRY).unwrap_or_default();
            let lock = doc! { "_id": user, "nonce": &nonce, "until": date(until) };
            let sent = tokio::time::Instant::now();
            match bounded(store, locks.insert_one(lock).into_future()).await {
                Ok(_) => {
                    let filter = Some(doc! { "_id": user, "nonce": &nonce });
                    return Ok(Self { locks, filter, sent });
                }
                // Held: take it over only if its holder let it expire (well past, by our clock).
                Err(Error::DuplicateToken) => {
                    let stale =
                        doc! { "_id": user, "until": { "$lt": date(now - TAKEOVER_MARGIN) } };
                    bounded(store, locks.delete_one(stale).into_future()).await?;
                }
                Err(error) => return Err(error),
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
        if let Some(filter) = self.filter.take() {
            // On failure the lock expires by itself within `LOCK_EXPIRY`.
            let _ =
                tokio::time::timeout(CALL_LIMIT, self.locks.delete_one(filter).into_future()).await;
        }
    }
}

impl Drop for UserLock {
    fn drop(&mut self) {
        let Some(filter) = self.filter.take() else { return };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let locks = self.locks.clone();
            runtime.spawn(async move {
                let _ =
                    tokio::time::timeout(CALL_LIMIT, locks.delete_one(filter).into_future()).await;
            });
        }
    }
}

/// A lock call under the store's timeout and, whatever that is, `CALL_LIMIT`.
async fn bounded<Id, T>(
    store: &MongoStore<Id>,
    call: impl std::future::Future<Output = mongodb::error::Result<T>>,
) -> Result<T> {
    tokio::time::timeout(CALL_LIMIT, store.bounded(call))
        .await
        .map_err(|_| Error::store("MongoDB did not answer the per-user lock in time"))?
}
