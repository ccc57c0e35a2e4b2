//! Refresh tokens in process memory: for tests, and for an application with one process.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use super::store::{RefreshRow, RefreshStore};
use crate::{Result, UserId};

/// A [`RefreshStore`] in memory: one lock over every row, so each step is atomic.
///
/// ```
/// use authtoken::refresh::MemoryRefreshStore;
/// let store = MemoryRefreshStore::<u64>::new();
/// # let _ = store;
/// ```
#[derive(Debug)]
pub struct MemoryRefreshStore<Id> {
    rows: Mutex<HashMap<String, RefreshRow<Id>>>,
}

impl<Id> MemoryRefreshStore<Id> {
    /// An empty store.
    pub fn new() -> Self {
        Self { rows: Mutex::new(HashMap::new()) }
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<String, RefreshRow<Id>>> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<Id> Default for MemoryRefreshStore<Id> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Id: UserId> RefreshStore for MemoryRefreshStore<Id> {
    type UserId = Id;

    async fn get(&self, key: &str) -> Result<Option<RefreshRow<Id>>> {
        Ok(self.rows().get(key).cloned())
    }

    async fn start_family(&self, first: RefreshRow<Id>) -> Result<()> {
        self.rows().insert(first.key.clone(), first);
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &str,
        at: DateTime<Utc>,
        next: RefreshRow<Id>,
    ) -> Result<bool> {
        let mut rows = self.rows();
        match rows.get_mut(presented) {
            // An ended family has no rows left: a missing row is that, or a forgery.
            Some(row) if row.spent_at.is_none() && row.family == next.family => {
                row.spent_at = Some(at);
                rows.insert(next.key.clone(), next);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn end_family(&self, family: &str) -> Result<Vec<RefreshRow<Id>>> {
        let mut rows = self.rows();
        let keys: Vec<String> =
            rows.values().filter(|row| row.family == family).map(|row| row.key.clone()).collect();
        Ok(keys.iter().filter_map(|key| rows.remove(key)).collect())
    }

    async fn user_rows(&self, user_id: &Id) -> Result<Vec<RefreshRow<Id>>> {
        // An ended family has no rows left: every row here is of a live one.
        Ok(self.rows().values().filter(|row| row.user_id == *user_id).cloned().collect())
    }

    async fn family_of_access(&self, access_key: &str) -> Result<Option<String>> {
        Ok(self
            .rows()
            .values()
            .find(|row| row.access_key == access_key)
            .map(|row| row.family.clone()))
    }
}
