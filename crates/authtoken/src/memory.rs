//! In-memory implementations: a token store and a user directory, for tests and prototypes.
//!
//! They keep the storage contract exactly, so they double as its reference implementation.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::num::NonZeroU32;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};

use crate::limit::LimitTokens;
use crate::limit::{Liveness, TokenLimit};
use crate::store::{
    AccessToken, AccessTokenStore, ListTokens, PurgeExpired, TokenColumns, TokenUse,
};
use crate::{BoxError, Error, Result, User, UserId, UserLoader};

/// A token store in a hash map behind a lock; clones share the same rows. `Debug` shows how many
/// rows it holds, never their keys (live credentials in plain mode).
pub struct MemoryStore<Id> {
    rows: Arc<RwLock<HashMap<String, AccessToken<Id>>>>,
}

impl<Id> MemoryStore<Id> {
    /// An empty store.
    pub fn new() -> Self {
        Self { rows: Arc::default() }
    }

    /// How many rows the store holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the store holds no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // No method holds the lock across an await, and no panic can happen while it is held, so a
    // poisoned lock still guards consistent data.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, AccessToken<Id>>> {
        self.rows.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, AccessToken<Id>>> {
        self.rows.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<Id> std::fmt::Debug for MemoryStore<Id> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("rows", &self.len()).finish()
    }
}

impl<Id> Default for MemoryStore<Id> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Id> Clone for MemoryStore<Id> {
    fn clone(&self) -> Self {
        Self { rows: Arc::clone(&self.rows) }
    }
}

impl<Id: UserId> AccessTokenStore for MemoryStore<Id> {
    type UserId = Id;

    async fn get(&self, token: &str) -> Result<Option<AccessToken<Id>>> {
        let rows = self.read();
        Ok(rows.get(token).cloned())
    }

    // Expiry is the strategy's check on every read; expired rows wait for a purge, as in SQL.
    async fn create(&self, row: AccessToken<Id>, _expires_at: Option<DateTime<Utc>>) -> Result<()> {
        match self.write().entry(row.token.clone()) {
            Entry::Occupied(_) => Err(Error::DuplicateToken),
            Entry::Vacant(slot) => {
                slot.insert(row);
                Ok(())
            }
        }
    }

    async fn delete(&self, token: &str, owner: &Id) -> Result<bool> {
        let mut rows = self.write();
        if rows.get(token).is_some_and(|row| row.user_id == *owner) {
            rows.remove(token);
            return Ok(true);
        }
        Ok(false)
    }

    async fn delete_all_of_user(&self, owner: &Id) -> Result<u64> {
        let mut rows = self.write();
        let before = rows.len();
        rows.retain(|_, row| row.user_id != *owner);
        Ok((before - rows.len()) as u64)
    }

    /// Every optional column: a row is kept as given.
    fn columns(&self) -> TokenColumns {
        TokenColumns::ALL
    }

    async fn record_use(&self, token: &str, used: &TokenUse) -> Result<()> {
        if let Some(row) = self.write().get_mut(token) {
            used.apply(&mut row.details);
        }
        Ok(())
    }
}

// The whole step runs under the write lock: exact however many logins race.
impl<Id: UserId> LimitTokens for MemoryStore<Id> {
    async fn create_within_limit(
        &self,
        row: AccessToken<Id>,
        _expires_at: Option<DateTime<Utc>>,
        limit: TokenLimit,
        live: Liveness,
    ) -> Result<Vec<String>> {
        let mut rows = self.write();
        if rows.contains_key(&row.token) {
            return Err(Error::DuplicateToken);
        }
        let owned: Vec<AccessToken<Id>> =
            rows.values().filter(|r| r.user_id == row.user_id).cloned().collect();
        let evicted = limit.make_room(&owned, &live)?;
        for key in &evicted {
            rows.remove(key);
        }
        rows.insert(row.token.clone(), row);
        Ok(evicted)
    }
}

impl<Id: UserId> ListTokens for MemoryStore<Id> {
    async fn list_of_user(&self, owner: &Id) -> Result<Vec<AccessToken<Id>>> {
        let mut mine: Vec<_> =
            self.read().values().filter(|row| row.user_id == *owner).cloned().collect();
        mine.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.token.cmp(&b.token)));
        Ok(mine)
    }

    async fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: NonZeroU32,
    ) -> Result<Vec<AccessToken<Id>>> {
        let mut found: Vec<_> =
            self.read().values().filter(|row| row.token.starts_with(prefix)).cloned().collect();
        found.sort_by(|a, b| a.token.cmp(&b.token));
        found.truncate(limit.get() as usize);
        Ok(found)
    }
}

impl<Id: UserId> MemoryStore<Id> {
    /// Deletes the oldest (by creation) `limit` rows that `expired` picks.
    fn delete_oldest(&self, limit: NonZeroU32, expired: impl Fn(&AccessToken<Id>) -> bool) -> u64 {
        let mut rows = self.write();
        let mut gone: Vec<_> = rows
            .values()
            .filter(|row| expired(row))
            .map(|row| (row.created_at, row.token.clone()))
            .collect();
        // Oldest first, like the SQL stores' ORDER BY created_at.
        gone.sort_unstable();
        gone.truncate(limit.get() as usize);
        for (_, token) in &gone {
            rows.remove(token);
        }
        gone.len() as u64
    }
}

/// Whether `row` has expired: by its own expiry if it has one, else by its creation.
fn is_expired<Id>(row: &AccessToken<Id>, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> bool {
    match row.details.expires_at {
        Some(end) => end < now,
        None => row.created_at < cutoff,
    }
}

impl<Id: UserId> MemoryStore<Id> {
    /// Rows with their own expiry are left to [`delete_expired`](Self::delete_expired).
    pub async fn delete_created_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> Result<u64> {
        Ok(self.delete_oldest(limit, |row| {
            row.details.expires_at.is_none() && row.created_at < cutoff
        }))
    }

    /// How many rows [`delete_created_before`](Self::delete_created_before) would delete.
    pub async fn count_created_before(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let rows = self.read();
        let expired =
            rows.values().filter(|r| r.details.expires_at.is_none() && r.created_at < cutoff);
        Ok(expired.count() as u64)
    }
}

impl<Id: UserId> PurgeExpired for MemoryStore<Id> {
    async fn delete_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> Result<u64> {
        Ok(self.delete_oldest(limit, |row| is_expired(row, now, cutoff)))
    }

    async fn count_expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Result<u64> {
        Ok(self.read().values().filter(|row| is_expired(row, now, cutoff)).count() as u64)
    }
}

/// A user directory in a hash map, implementing [`UserLoader`]; clones share the same users.
#[derive(Debug)]
pub struct MemoryUsers<U: User> {
    users: Arc<RwLock<HashMap<U::Id, U>>>,
}

impl<U: User + Clone> MemoryUsers<U> {
    /// An empty directory.
    pub fn new() -> Self {
        Self { users: Arc::default() }
    }

    /// Adds or replaces a user.
    pub fn insert(&self, user: U) {
        let id = user.id().clone();
        self.users.write().unwrap_or_else(PoisonError::into_inner).insert(id, user);
    }

    /// Removes a user; `true` if it was there.
    pub fn remove(&self, id: &U::Id) -> bool {
        self.users.write().unwrap_or_else(PoisonError::into_inner).remove(id).is_some()
    }
}

impl<U: User + Clone> Default for MemoryUsers<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U: User> Clone for MemoryUsers<U> {
    fn clone(&self) -> Self {
        Self { users: Arc::clone(&self.users) }
    }
}

impl<U: User + Clone> UserLoader for MemoryUsers<U> {
    type User = U;

    async fn load_user(&self, id: &U::Id) -> Result<Option<U>, BoxError> {
        Ok(self.users.read().unwrap_or_else(PoisonError::into_inner).get(id).cloned())
    }
}
