//! A revocation-aware read cache in front of any store (feature `cache`).
//!
//! [`CachedStore`] answers repeated reads of a live token from memory, and a revocation channel
//! keeps it honest across processes: a channel listener (PostgreSQL LISTEN/NOTIFY in
//! `authtoken-sea-orm`, …) feeds a [`RevocationSink`], and a [`RevocationPublisher`] tells the
//! other processes of this one's revocations. The guarantee: **a token revoked at instant R is
//! never accepted from the cache by a read that starts after R + the staleness bound**, in any
//! process wired to the channel. While the channel is down, lagging or resubscribing, the cache
//! serves no hits at all: every read goes to the store (fail closed).
//!
//! Only found rows are cached. An unknown token is never cached: a login could create it a
//! moment later (in another process) and the cached "unknown" would hide it; the store answers
//! such reads, which are rare for real clients and cheap to refuse for garbage (the strategy
//! rejects malformed tokens before any lookup). A cached token that is revoked leaves a
//! tombstone in its place: its next reads are refused from memory, at once and whatever the
//! channel's state (a revoked key never comes back), instead of asking the store. (A deleted
//! row put back by hand, from a backup, say, is refused by a process that saw it deleted until
//! `max_age`; one written through this process's store is not.)
//!
//! ```
//! use std::time::Duration;
//! use authtoken::DatabaseStrategy;
//! use authtoken::cache::{CacheOptions, CachedStore};
//! use authtoken::memory::MemoryStore;
//!
//! # fn main() -> authtoken::Result<()> {
//! // An in-memory store is changed by this process alone, so it needs no channel. A shared
//! // database does: see `CachedStore::new` and the store crate's listener.
//! let store = CachedStore::local_only(MemoryStore::<u64>::new(), CacheOptions::default())?;
//! let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;
//! # Ok(()) }
//! ```

mod counter;
mod freshness;
mod sink;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::limit::LimitTokens;
use crate::limit::{Liveness, TokenLimit};
use crate::store::{AccessToken, AccessTokenStore, JoinedUserStore, ListTokens, PurgeExpired};
use crate::{Result, User};
use counter::Counter;
use freshness::Freshness;
use sink::Invalidate;
pub use sink::{Revocation, RevocationPublisher, RevocationSink};

/// The cache's knobs.
#[derive(Debug, Clone, Copy)]
pub struct CacheOptions {
    /// At most this many tokens are cached (least recently used go first). Default 100,000.
    pub max_entries: u64,
    /// How long after a revocation the cache may still accept the token: the channel must prove
    /// within this bound that it is current, or the cache stops serving. Default 1 second.
    pub staleness_bound: Duration,
    /// No entry is kept longer than this, whatever the channel says. Default 5 minutes.
    pub max_age: Duration,
}

/// The longest staleness bound a cache takes: an hour (a revocation that may take longer to
/// reach a process is no bound at all).
pub const MAX_STALENESS_BOUND: Duration = Duration::from_secs(3600);

/// The longest a cache keeps an entry: a day.
pub const MAX_CACHE_AGE: Duration = Duration::from_secs(24 * 3600);

impl CacheOptions {
    /// Whether the options are in range: at least one entry, a staleness bound between 1 ms
    /// and [`MAX_STALENESS_BOUND`], a `max_age` between 1 ms and [`MAX_CACHE_AGE`]. Out of range
    /// they would panic deep in the cache or the clock arithmetic, or mean no bound at all.
    ///
    /// ```
    /// use std::time::Duration;
    /// use authtoken::cache::CacheOptions;
    ///
    /// let huge = CacheOptions { max_age: Duration::MAX, ..CacheOptions::default() };
    /// assert!(huge.check().is_err());
    /// assert!(CacheOptions::default().check().is_ok());
    /// ```
    pub fn check(&self) -> crate::Result<()> {
        let millisecond = Duration::from_millis(1);
        if self.max_entries == 0 {
            return Err(crate::Error::Config("a cache needs room for at least one entry"));
        }
        if self.staleness_bound < millisecond || self.staleness_bound > MAX_STALENESS_BOUND {
            return Err(crate::Error::Config(
                "a cache's staleness bound must be between 1 ms and an hour",
            ));
        }
        if self.max_age < millisecond || self.max_age > MAX_CACHE_AGE {
            return Err(crate::Error::Config("a cache's max_age must be between 1 ms and a day"));
        }
        Ok(())
    }
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            staleness_bound: Duration::from_secs(1),
            max_age: Duration::from_secs(300),
        }
    }
}

/// One cached token: its row, its owner as text (for user-wide invalidation), and the owner
/// itself when a joined read loaded it.
struct Entry<Id> {
    row: AccessToken<Id>,
    user_key: String,
    user: Option<Arc<dyn Any + Send + Sync>>,
}

/// What the cache holds for a key: a live token, or the tombstone of a revoked one.
enum Slot<Id> {
    Live(Entry<Id>),
    Revoked,
}

/// What a read finds in the cache.
enum Lookup<Id> {
    /// A live entry, and the channel is current.
    Live(Arc<Slot<Id>>),
    /// A tombstone: the token was revoked.
    Revoked,
    /// Nothing usable: ask the store.
    Ask,
}

/// How many reads the cache answered and how many went to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from memory.
    pub hits: u64,
    /// Reads that went to the store (not cached, or the channel not current).
    pub misses: u64,
}

/// The cache and its proof of currency, shared by the store and the channel's sink.
struct Shared<Id> {
    entries: moka::sync::Cache<String, Arc<Slot<Id>>>,
    /// Keys written again over their tombstone, for `max_age`: an announcement of their
    /// deletion may still be on its way, and must not bury the new row.
    rewritten: moka::sync::Cache<String, ()>,
    freshness: Freshness,
    hits: Counter,
    misses: Counter,
    /// Serves hits without a channel: only for a store no other process changes.
    always_current: bool,
}

impl<Id: Clone + Send + Sync + 'static> Shared<Id> {
    fn may_serve(&self) -> bool {
        self.always_current || self.freshness.may_serve(Instant::now())
    }

    /// What the cache says of `key`: its live entry when hits may be served, its tombstone
    /// always (refusing a revoked token needs no proof of currency). (A live row's expiry is
    /// the strategy's check, on the row handed back.)
    fn lookup(&self, key: &str) -> Lookup<Id> {
        match self.entries.get(key) {
            Some(slot) => match &*slot {
                Slot::Revoked => Lookup::Revoked,
                Slot::Live(_) if self.may_serve() => Lookup::Live(slot),
                Slot::Live(_) => Lookup::Ask,
            },
            None => Lookup::Ask,
        }
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.add_one();
    }

    /// Keeps `entry` unless an invalidation ran since `generation` was read: the row may
    /// already be gone from the store.
    fn fill(&self, key: &str, entry: Entry<Id>, generation: u64) {
        if self.freshness.generation() != generation {
            return;
        }
        self.entries.insert(key.to_owned(), Arc::new(Slot::Live(entry)));
        // An invalidation between the check and the insert may have missed the new entry.
        if self.freshness.generation() != generation {
            self.entries.invalidate(key);
        }
    }

    fn drop_keys(&self, keys: &[String]) {
        self.freshness.bump();
        for key in keys {
            self.entries.invalidate(key);
        }
    }

    /// `keys` were deleted from the store: each one cached becomes a tombstone (a key not
    /// cached is left out, so that a purge of a million rows evicts nothing).
    fn revoke_keys(&self, keys: &[String]) {
        self.freshness.bump();
        for key in keys {
            if self.rewritten.contains_key(key) {
                self.entries.invalidate(key);
            } else if self.entries.contains_key(key) {
                self.entries.insert(key.clone(), Arc::new(Slot::Revoked));
            }
        }
    }

    /// `key` was just written to the store: a tombstone of it goes, and is not laid again by
    /// a late announcement of the old row's deletion.
    fn written(&self, key: &str) {
        if let Some(slot) = self.entries.get(key)
            && let Slot::Revoked = &*slot
        {
            self.rewritten.insert(key.to_owned(), ());
            self.entries.invalidate(key);
        }
    }

    fn drop_user(&self, user: &str) {
        self.freshness.bump();
        let user = user.to_owned();
        let of_user = move |_: &String, slot: &Arc<Slot<Id>>| match &**slot {
            Slot::Live(entry) => entry.user_key == user,
            Slot::Revoked => false,
        };
        // Supported: the cache is built with invalidation closures.
        if self.entries.invalidate_entries_if(of_user).is_err() {
            self.entries.invalidate_all();
        }
    }

    fn drop_all(&self) {
        self.freshness.bump();
        self.entries.invalidate_all();
    }
}

#[async_trait::async_trait]
impl<Id: Clone + Send + Sync + 'static> Invalidate for Shared<Id> {
    async fn tokens(&self, keys: &[String]) {
        self.revoke_keys(keys);
    }

    fn user(&self, user: &str) {
        self.drop_user(user);
    }

    fn all(&self) {
        self.drop_all();
    }

    fn caught_up_to(&self, sent_at: Instant) {
        self.freshness.caught_up_to(sent_at);
    }

    fn withdraw(&self) {
        self.freshness.withdraw();
    }

    fn resubscribed(&self) {
        self.freshness.withdraw();
        self.entries.invalidate_all();
    }

    fn bound(&self) -> Duration {
        self.freshness.bound()
    }
}

/// A store with a revocation-aware read cache in front; see the [module](self) documentation.
pub struct CachedStore<S: AccessTokenStore> {
    inner: S,
    shared: Arc<Shared<S::UserId>>,
    publisher: Option<Arc<dyn RevocationPublisher>>,
}

impl<S: AccessTokenStore + Clone> Clone for CachedStore<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
            publisher: self.publisher.clone(),
        }
    }
}

impl<S: AccessTokenStore> std::fmt::Debug for CachedStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore")
            .field("entries", &self.shared.entries.entry_count())
            .field("staleness_bound", &self.shared.freshness.bound())
            .field("serving", &self.shared.may_serve())
            .finish_non_exhaustive()
    }
}

impl<S: AccessTokenStore> CachedStore<S>
where
    S::UserId: Display,
{
    /// A cache in front of `inner` that serves no hit until a channel listener, fed with
    /// [`revocation_sink`](Self::revocation_sink), proves it is current. Options out of range
    /// ([`CacheOptions::check`]) are an [`Error::Config`](crate::Error::Config).
    pub fn new(inner: S, options: CacheOptions) -> crate::Result<Self> {
        Self::build(inner, options, false)
    }

    /// A cache that needs no channel, for a store that no other process changes (the in-memory
    /// store): this process's own revocations reach it directly. Never use it over a shared
    /// database: another process's revocation would not reach it before `max_age`.
    pub fn local_only(inner: S, options: CacheOptions) -> crate::Result<Self> {
        Self::build(inner, options, true)
    }

    fn build(inner: S, options: CacheOptions, always_current: bool) -> crate::Result<Self> {
        options.check()?;
        let entries = moka::sync::Cache::builder()
            .max_capacity(options.max_entries)
            .time_to_live(options.max_age)
            .support_invalidation_closures()
            .build();
        let rewritten = moka::sync::Cache::builder()
            .max_capacity(options.max_entries)
            .time_to_live(options.max_age)
            .build();
        let freshness = Freshness::new(options.staleness_bound);
        let (hits, misses) = (Counter::default(), Counter::default());
        let shared =
            Arc::new(Shared { entries, rewritten, freshness, hits, misses, always_current });
        Ok(Self { inner, shared, publisher: None })
    }

    /// Publishes this process's revocations through `publisher` as well.
    pub fn with_publisher(mut self, publisher: Arc<dyn RevocationPublisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// The handle a channel listener feeds.
    pub fn revocation_sink(&self) -> RevocationSink {
        RevocationSink { target: Arc::clone(&self.shared) as Arc<dyn Invalidate> }
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Whether a hit may be served now (the channel is current).
    pub fn is_serving(&self) -> bool {
        self.shared.may_serve()
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats { hits: self.shared.hits.sum(), misses: self.shared.misses.sum() }
    }

    /// Drops everything cached for `user`, here and, through the publisher, in every other
    /// process: call it when a user is deactivated or changes their password.
    pub async fn invalidate_user(&self, user: &S::UserId) -> Result<()> {
        let user = user.to_string();
        self.shared.drop_user(&user);
        self.publish(Revocation::User(user)).await
    }

    async fn publish(&self, revocation: Revocation) -> Result<()> {
        match &self.publisher {
            Some(publisher) => publisher.publish(revocation).await,
            None => Ok(()),
        }
    }

    fn entry(
        row: &AccessToken<S::UserId>,
        user: Option<Arc<dyn Any + Send + Sync>>,
    ) -> Entry<S::UserId> {
        Entry { row: row.clone(), user_key: row.user_id.to_string(), user }
    }
}

// Evicted tokens are revoked tokens: forgotten here and announced like a logout.
impl<S: LimitTokens> LimitTokens for CachedStore<S>
where
    S::UserId: Display,
{
    async fn create_within_limit(
        &self,
        row: AccessToken<S::UserId>,
        expires_at: Option<DateTime<Utc>>,
        limit: TokenLimit,
        live: Liveness,
    ) -> Result<Vec<String>> {
        let user = row.user_id.to_string();
        let key = row.token.clone();
        let evicted = match self.inner.create_within_limit(row, expires_at, limit, live).await {
            Ok(evicted) => evicted,
            Err(error) => {
                // A store without a transaction may have evicted some tokens before it failed,
                // and does not say which: forget the user's entries here and elsewhere.
                if !matches!(error, crate::Error::TokenLimitReached) {
                    self.shared.drop_user(&user);
                    let _ = self.publish(Revocation::User(user)).await;
                }
                return Err(error);
            }
        };
        self.shared.written(&key);
        if !evicted.is_empty() {
            self.shared.revoke_keys(&evicted);
            self.publish(Revocation::Tokens(evicted.clone())).await?;
        }
        Ok(evicted)
    }
}

impl<S: AccessTokenStore> AccessTokenStore for CachedStore<S>
where
    S::UserId: Display,
{
    type UserId = S::UserId;

    async fn get(&self, token: &str) -> Result<Option<AccessToken<S::UserId>>> {
        match self.shared.lookup(token) {
            Lookup::Live(slot) => {
                if let Slot::Live(entry) = &*slot {
                    self.shared.count(true);
                    return Ok(Some(entry.row.clone()));
                }
            }
            Lookup::Revoked => {
                self.shared.count(true);
                return Ok(None);
            }
            Lookup::Ask => {}
        }
        self.shared.count(false);
        let generation = self.shared.freshness.generation();
        let found = self.inner.get(token).await?;
        if let Some(row) = &found {
            self.shared.fill(token, Self::entry(row, None), generation);
        }
        Ok(found)
    }

    async fn create(
        &self,
        row: AccessToken<S::UserId>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let key = row.token.clone();
        self.inner.create(row, expires_at).await?;
        // A key written again (a row put back by hand) must not stay behind its tombstone.
        self.shared.written(&key);
        Ok(())
    }

    async fn delete(&self, token: &str, owner: &S::UserId) -> Result<bool> {
        let deleted = self.inner.delete(token, owner).await?;
        let keys = vec![token.to_owned()];
        // Not deleted (another user's token, or none): forget it here, but leave no tombstone.
        match deleted {
            true => self.shared.revoke_keys(&keys),
            false => self.shared.drop_keys(&keys),
        }
        if deleted {
            self.publish(Revocation::Tokens(keys)).await?;
        }
        Ok(deleted)
    }

    async fn delete_all_of_user(&self, owner: &S::UserId) -> Result<u64> {
        let deleted = self.inner.delete_all_of_user(owner).await?;
        let user = owner.to_string();
        self.shared.drop_user(&user);
        self.publish(Revocation::User(user)).await?;
        Ok(deleted)
    }

    fn columns(&self) -> crate::store::TokenColumns {
        self.inner.columns()
    }

    /// Records the use in the store, and in the cached row (through the same generation guard
    /// as a fill, so an invalidation in between is never undone): the next hit then sees it
    /// and does not write again within the interval.
    async fn record_use(&self, token: &str, used: &crate::store::TokenUse) -> Result<()> {
        let generation = self.shared.freshness.generation();
        self.inner.record_use(token, used).await?;
        if let Some(slot) = self.shared.entries.get(token)
            && let Slot::Live(entry) = &*slot
        {
            let mut row = entry.row.clone();
            used.apply(&mut row.details);
            let updated = Entry { row, user_key: entry.user_key.clone(), user: entry.user.clone() };
            self.shared.fill(token, updated, generation);
        }
        Ok(())
    }
}

impl<S, U> JoinedUserStore<U> for CachedStore<S>
where
    S: JoinedUserStore<U>,
    S::UserId: Display,
    U: User<Id = S::UserId> + Clone + 'static,
{
    async fn get_with_user(
        &self,
        token: &str,
    ) -> Result<Option<(AccessToken<S::UserId>, Option<U>)>> {
        match self.shared.lookup(token) {
            Lookup::Live(slot) => {
                if let Slot::Live(entry) = &*slot
                    && let Some(user) = entry.user.as_ref().and_then(|u| u.downcast_ref::<U>())
                {
                    self.shared.count(true);
                    return Ok(Some((entry.row.clone(), Some(user.clone()))));
                }
            }
            Lookup::Revoked => {
                self.shared.count(true);
                return Ok(None);
            }
            Lookup::Ask => {}
        }
        self.shared.count(false);
        let generation = self.shared.freshness.generation();
        let found = self.inner.get_with_user(token).await?;
        // A row whose user is gone is not kept: the next read asks again.
        if let Some((row, Some(user))) = &found {
            let user: Arc<dyn Any + Send + Sync> = Arc::new(user.clone());
            self.shared.fill(token, Self::entry(row, Some(user)), generation);
        }
        Ok(found)
    }
}

impl<S: ListTokens> ListTokens for CachedStore<S>
where
    S::UserId: Display,
{
    async fn list_of_user(&self, owner: &S::UserId) -> Result<Vec<AccessToken<S::UserId>>> {
        self.inner.list_of_user(owner).await
    }

    async fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: std::num::NonZeroU32,
    ) -> Result<Vec<AccessToken<S::UserId>>> {
        self.inner.list_by_key_prefix(prefix, limit).await
    }
}

impl<S: PurgeExpired> PurgeExpired for CachedStore<S>
where
    S::UserId: Display,
{
    async fn delete_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: std::num::NonZeroU32,
    ) -> Result<u64> {
        self.inner.delete_expired(now, cutoff, limit).await
    }

    async fn count_expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Result<u64> {
        self.inner.count_expired(now, cutoff).await
    }
}
