//! Wrappers that count what reaches a store and make it fail on demand.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use authtoken::LimitTokens;
use authtoken::limit::{Liveness, TokenLimit};
use authtoken::store::{
    AccessToken, AccessTokenStore, JoinedUserStore, ListTokens, PurgeExpired, RowWithUser,
};
use authtoken::{BoxError, Error, Result, User, UserLoader};
use chrono::{DateTime, Utc};

/// What a [`FaultyStore`] saw, shared by its clones.
#[derive(Debug, Default)]
pub struct Probe {
    failing: AtomicBool,
    calls: AtomicUsize,
    purge_batches: Mutex<Vec<(u32, u64)>>,
}

impl Probe {
    /// Makes every later call fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many store calls were made, failed ones included.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Each `delete_created_before` call: the limit asked for and the rows deleted.
    pub fn purge_batches(&self) -> Vec<(u32, u64)> {
        self.purge_batches.lock().unwrap().clone()
    }

    fn enter(&self) -> Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::store("injected storage fault"));
        }
        Ok(())
    }
}

/// A store that counts calls and fails every call while its probe says so.
#[derive(Debug, Clone)]
pub struct FaultyStore<S> {
    inner: S,
    probe: Arc<Probe>,
}

impl<S> FaultyStore<S> {
    /// Wraps `inner`, working until told otherwise.
    pub fn new(inner: S) -> Self {
        Self { inner, probe: Arc::default() }
    }

    /// The switch and counters.
    pub fn probe(&self) -> Arc<Probe> {
        Arc::clone(&self.probe)
    }
}

impl<S: AccessTokenStore> AccessTokenStore for FaultyStore<S> {
    type UserId = S::UserId;

    async fn get(&self, token: &str) -> Result<Option<AccessToken<S::UserId>>> {
        self.probe.enter()?;
        self.inner.get(token).await
    }

    async fn create(
        &self,
        row: AccessToken<S::UserId>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.probe.enter()?;
        self.inner.create(row, expires_at).await
    }

    async fn delete(&self, token: &str, owner: &S::UserId) -> Result<bool> {
        self.probe.enter()?;
        self.inner.delete(token, owner).await
    }

    async fn delete_all_of_user(&self, owner: &S::UserId) -> Result<u64> {
        self.probe.enter()?;
        self.inner.delete_all_of_user(owner).await
    }

    fn columns(&self) -> authtoken::TokenColumns {
        self.inner.columns()
    }

    async fn record_use(&self, token: &str, used: &authtoken::TokenUse) -> Result<()> {
        self.probe.enter()?;
        self.inner.record_use(token, used).await
    }
}

impl<S: LimitTokens> LimitTokens for FaultyStore<S> {
    async fn create_within_limit(
        &self,
        row: AccessToken<S::UserId>,
        expires_at: Option<DateTime<Utc>>,
        limit: TokenLimit,
        live: Liveness,
    ) -> Result<Vec<String>> {
        self.probe.enter()?;
        self.inner.create_within_limit(row, expires_at, limit, live).await
    }
}

impl<S: ListTokens> ListTokens for FaultyStore<S> {
    async fn list_of_user(&self, owner: &S::UserId) -> Result<Vec<AccessToken<S::UserId>>> {
        self.probe.enter()?;
        self.inner.list_of_user(owner).await
    }

    async fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: NonZeroU32,
    ) -> Result<Vec<AccessToken<S::UserId>>> {
        self.probe.enter()?;
        self.inner.list_by_key_prefix(prefix, limit).await
    }
}

impl<S: PurgeExpired> PurgeExpired for FaultyStore<S> {
    async fn delete_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> Result<u64> {
        self.probe.enter()?;
        let deleted = self.inner.delete_expired(now, cutoff, limit).await?;
        self.probe.purge_batches.lock().unwrap().push((limit.get(), deleted));
        Ok(deleted)
    }

    async fn count_expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Result<u64> {
        self.probe.enter()?;
        self.inner.count_expired(now, cutoff).await
    }
}

impl<S, U> JoinedUserStore<U> for FaultyStore<S>
where
    S: JoinedUserStore<U>,
    U: User<Id = S::UserId>,
{
    async fn get_with_user(&self, token: &str) -> Result<Option<RowWithUser<S::UserId, U>>> {
        self.probe.enter()?;
        self.inner.get_with_user(token).await
    }
}

/// A user loader that always fails to look.
#[derive(Debug, Clone, Copy)]
pub struct BrokenUsers<U>(std::marker::PhantomData<fn() -> U>);

impl<U> Default for BrokenUsers<U> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<U: User> UserLoader for BrokenUsers<U> {
    type User = U;

    async fn load_user(&self, _id: &U::Id) -> Result<Option<U>, BoxError> {
        Err("injected user-loader fault".into())
    }
}
