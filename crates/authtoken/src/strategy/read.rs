//! Reading a presented token back into its row and user: the one lookup every read shares.

use std::future::Future;

use crate::observe::{Operation, Outcome};
use crate::store::{AccessToken, AccessTokenStore};
use crate::token::{StorageMode, StoredKey, is_well_formed};
use crate::user_source::{FetchedOwner, UserSource};
use crate::{Result, User};

use super::DatabaseStrategy;

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// The user `token` authenticates, with the token's row (its details: name, scopes, own
    /// expiry, for a scope check); `None` for a malformed token (without touching the store), an
    /// unknown or expired one, or one whose user no longer exists.
    ///
    /// `users` is where the user comes from: any [`UserLoader`](crate::UserLoader) (the row,
    /// then its user: two queries, the second only for a live token), or [`Joined`](crate::Joined)
    /// on a store that joins (one query). Inactive users are returned too: what they may do is
    /// the caller's decision. Reading never writes, unless
    /// [last-use tracking](Self::with_last_use_tracking) is on.
    ///
    /// ```
    /// use std::time::Duration;
    /// use authtoken::memory::{MemoryStore, MemoryUsers};
    /// use authtoken::{DatabaseStrategy, User};
    ///
    /// #[derive(Clone)]
    /// struct Account { id: u64 }
    /// impl User for Account {
    ///     type Id = u64;
    ///     fn id(&self) -> &u64 { &self.id }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> authtoken::Result<()> {
    /// let users = MemoryUsers::new();
    /// users.insert(Account { id: 7 });
    /// let strategy = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(3600)))?;
    /// let token = strategy.write_token(&Account { id: 7 }).await?;
    /// let (user, row) = strategy.read_token(token.expose_secret(), &users).await?.expect("live");
    /// assert_eq!((user.id, row.details.scopes.len()), (7, 0));
    /// assert!(strategy.read_token("not-a-token", &users).await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_token<U, L>(
        &self,
        token: &str,
        users: &L,
    ) -> Result<Option<(U, AccessToken<S::UserId>)>>
    where
        U: User<Id = S::UserId>,
        L: UserSource<S, U>,
    {
        let Some(token) = self.well_formed(Some(token), "read_token") else { return Ok(None) };
        let op = Operation::start::<S>("read_token");
        let work = async {
            let fetch =
                |key: StoredKey| async move { users.fetch(&self.store, key.as_str()).await };
            let (row, owner) = match self.find_live(token, &op, fetch).await? {
                Lookup::Found(found) => found,
                Lookup::Refused(outcome) => return Ok(Lookup::Refused(outcome)),
            };
            self.note_use(token, &row).await;
            let user = match owner {
                FetchedOwner::Joined(user) => user,
                FetchedOwner::Later => users.load(&row.user_id).await?,
            };
            Ok(user.map_or(Lookup::Refused(Outcome::NoUser), |user| Lookup::Found((user, row))))
        };
        op.run(work, Lookup::outcome).await.map(Lookup::found)
    }

    /// The one read path: the row [`find_row`](Self::find_row) finds, kept only if it is sound
    /// (bound, not dated in the future) and live.
    pub(super) async fn find_live<T, F, Fut>(
        &self,
        token: &str,
        op: &Operation,
        fetch: F,
    ) -> Result<Lookup<(AccessToken<S::UserId>, T)>>
    where
        F: Fn(StoredKey) -> Fut,
        Fut: Future<Output = Result<Option<(AccessToken<S::UserId>, T)>>>,
    {
        let Some((index, row, more)) = self.find_row(token, Some(op), fetch).await? else {
            return Ok(Lookup::Refused(Outcome::Unknown));
        };
        let live = self.liveness();
        if !self.row_is_sound(token, index, &row, &live) {
            return Ok(Lookup::Refused(Outcome::Unknown));
        }
        if !live.is_live(&row) {
            return Ok(Lookup::Refused(Outcome::Expired));
        }
        Ok(Lookup::Found((row, more)))
    }

    /// Tries each key `token` may be stored under, through `fetch` (the store's plain or joined
    /// read, with whatever else it returns beside the row): the first row stored under exactly
    /// that key, and the key's index. Whether the row may be believed is the caller's check.
    pub(super) async fn find_row<T, F, Fut>(
        &self,
        token: &str,
        op: Option<&Operation>,
        fetch: F,
    ) -> Result<Option<(usize, AccessToken<S::UserId>, T)>>
    where
        F: Fn(StoredKey) -> Fut,
        Fut: Future<Output = Result<Option<(AccessToken<S::UserId>, T)>>>,
    {
        for (index, key) in self.stored_keys(token).enumerate() {
            if let Some(op) = op {
                op.key(key.as_str(), self.mode == StorageMode::Hashed);
            }
            // Expiry is checked on the row rather than by the store, so that an expired token
            // is told from an unknown one. Defence in depth: a store on a case-insensitive
            // collation could match a key that differs in case; only the exact key counts.
            let found = fetch(key).await?;
            let Some((row, more)) = found.filter(|(row, _)| row.token == key.as_str()) else {
                continue;
            };
            if let Some(op) = op {
                op.user(&row.user_id);
            }
            return Ok(Some((index, row, more)));
        }
        Ok(None)
    }

    /// The row keys a well-formed token may be stored under.
    ///
    /// With hash keys, one per key, the current key's first: a token under the current key costs
    /// one lookup. Without, exactly one.
    pub(crate) fn stored_keys(&self, token: &str) -> StoredKeys {
        match (&self.hash_keys, self.mode) {
            (Some(keys), StorageMode::Hashed) => StoredKeys::Many(
                keys.digests(token).map(StoredKey::of_digest).collect::<Vec<_>>().into_iter(),
            ),
            _ => StoredKeys::One(self.mode.stored_key(token)),
        }
    }

    /// `token` if it has a token's shape; otherwise `None`, and `operation` is recorded as
    /// refused before it reached the store.
    pub(super) fn well_formed<'t>(
        &self,
        token: Option<&'t str>,
        operation: &'static str,
    ) -> Option<&'t str> {
        self.shape(token).map_err(|outcome| Operation::refused_early(operation, outcome)).ok()
    }

    /// The presented token, if it has the shape of one this strategy accepts; else why it cannot
    /// be one. Checked once per call, before the store is asked.
    pub(crate) fn shape<'t>(&self, token: Option<&'t str>) -> Result<&'t str, Outcome> {
        let accepted = |token: &str| match self.mode {
            // Plain rows hold the bare token itself.
            StorageMode::Plain => is_well_formed(token),
            StorageMode::Hashed => self.format.is_well_formed(token),
        };
        match token {
            // An empty token is no token: a bare `Authorization: Bearer` or an emptied cookie.
            None | Some("") => Err(Outcome::Missing),
            Some(token) if !accepted(token) => Err(Outcome::Malformed),
            Some(token) => Ok(token),
        }
    }
}

/// A row (or user) found for a presented token, or why not.
pub(super) enum Lookup<T> {
    Found(T),
    Refused(Outcome),
}

impl<T> Lookup<T> {
    pub(super) fn outcome(&self) -> Outcome {
        match self {
            Lookup::Found(_) => Outcome::Authenticated,
            Lookup::Refused(outcome) => *outcome,
        }
    }

    pub(super) fn found(self) -> Option<T> {
        match self {
            Lookup::Found(value) => Some(value),
            Lookup::Refused(_) => None,
        }
    }
}

/// The keys a row may hold for one presented token, tried in order.
pub(crate) enum StoredKeys {
    None,
    One(StoredKey),
    Many(std::vec::IntoIter<StoredKey>),
}

impl Iterator for StoredKeys {
    type Item = StoredKey;

    fn next(&mut self) -> Option<StoredKey> {
        match std::mem::replace(self, StoredKeys::None) {
            StoredKeys::None => None,
            StoredKeys::One(key) => Some(key),
            StoredKeys::Many(mut keys) => {
                let next = keys.next();
                *self = StoredKeys::Many(keys);
                next
            }
        }
    }
}
