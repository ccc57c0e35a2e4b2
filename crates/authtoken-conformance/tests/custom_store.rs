//! A store written outside the library, over a `HashMap`, passes the whole kit with one line.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use authtoken::store::{AccessToken, AccessTokenStore};
use authtoken::{Error, Result};
use authtoken_conformance::memory::MemoryBackend;
use chrono::{DateTime, Utc};

#[derive(Clone, Default)]
struct MapStore(Arc<Mutex<HashMap<String, AccessToken<u64>>>>);

impl AccessTokenStore for MapStore {
    type UserId = u64;

    async fn get(&self, key: &str) -> Result<Option<AccessToken<u64>>> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }

    async fn create(&self, row: AccessToken<u64>, _: Option<DateTime<Utc>>) -> Result<()> {
        let mut rows = self.0.lock().unwrap();
        if rows.contains_key(&row.token) {
            return Err(Error::DuplicateToken);
        }
        rows.insert(row.token.clone(), row);
        Ok(())
    }

    async fn delete(&self, key: &str, owner: &u64) -> Result<bool> {
        let mut rows = self.0.lock().unwrap();
        Ok(rows.get(key).is_some_and(|r| r.user_id == *owner) && rows.remove(key).is_some())
    }

    async fn delete_all_of_user(&self, owner: &u64) -> Result<u64> {
        let mut rows = self.0.lock().unwrap();
        let before = rows.len();
        rows.retain(|_, r| r.user_id != *owner);
        Ok((before - rows.len()) as u64)
    }
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

authtoken_conformance::conformance_suite!(async {
    Some(MemoryBackend::with_store(MapStore::default(), next_id))
});
