//! Reading a presented token back into its row and user: the one lookup every read shares.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::limit::Liveness;
use crate::observe::{Operation, Outcome};
use crate::store::{AccessToken, AccessTokenStore, AccessTokenUserStore};
use crate::token::{StorageMode, StoredKey, is_well_formed};
use crate::{Error, Result, User, UserLoader};

use super::{DatabaseStrategy, TokenStatus};

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// The user `token` authenticates, or `None`: for no token, a malformed one (without touching
    /// the store), an unknown or expired one, or one whose user the loader no longer finds.
    ///
    /// Inactive users are returned too: what they may do is the caller's decision. Reading never
    /// writes, unless [last-use tracking](Self::with_last_use_tracking) is on.
    pub async fn read_token<L>(&self, token: Option<&str>, users: &L) -> Result<Option<L::User>>
    where
        L: UserLoader,
        L::User: User<Id = S::UserId>,
    {
        Ok(self.read_token_and_row(token, users).await?.map(|(user, _)| user))
    }

    /// [`read_token`](Self::read_token) with the token's row: its details (name, scopes, own
    /// expiry), for a scope check.
    pub async fn read_token_and_row<L>(
        &self,
        token: Option<&str>,
        users: &L,
    ) -> Result<Option<(L::User, AccessToken<S::UserId>)>>
    where
        L: UserLoader,
        L::User: User<Id = S::UserId>,
    {
        let Some(token) = self.well_formed(token, "read_token") else { return Ok(None) };
        let op = Operation::start::<S>("read_token");
        let work = async {
            let row = match self.lookup(token, &op).await? {
                Lookup::Found(row) => row,
                Lookup::Refused(outcome) => return Ok(Lookup::Refused(outcome)),
            };
            self.note_use(token, &row).await;
            let user = users.load_user(&row.user_id).await.map_err(Error::UserLoader)?;
            Ok(user.map_or(Lookup::Refused(Outcome::NoUser), |user| Lookup::Found((user, row))))
        };
        op.run(work, Lookup::outcome).await.map(Lookup::found)
    }

    /// Like [`read_token`](Self::read_token), in one round trip: the store joins the token with
    /// its user.
    pub async fn read_token_with_user<U>(&self, token: Option<&str>) -> Result<Option<U>>
    where
        U: User<Id = S::UserId>,
        S: AccessTokenUserStore<U>,
    {
        Ok(self.read_token_with_user_and_row(token).await?.map(|(user, _)| user))
    }

    /// [`read_token_with_user`](Self::read_token_with_user) with the token's row: its details
    /// (name, scopes, own expiry), for a scope check.
    pub async fn read_token_with_user_and_row<U>(
        &self,
        token: Option<&str>,
    ) -> Result<Option<(U, AccessToken<S::UserId>)>>
    where
        U: User<Id = S::UserId>,
        S: AccessTokenUserStore<U>,
    {
        let Some(token) = self.well_formed(token, "read_token") else { return Ok(None) };
        let op = Operation::start::<S>("read_token");
        let work = async {
            let fetch = |key: StoredKey| async move {
                let found = self.store.get_with_user(key.as_str()).await?;
                Ok(found)
            };
            Ok(match self.find_live(token, &op, fetch).await? {
                Lookup::Found((row, user)) => {
                    self.note_use(token, &row).await;
                    user.map_or(Lookup::Refused(Outcome::NoUser), |user| Lookup::Found((user, row)))
                }
                Lookup::Refused(outcome) => Lookup::Refused(outcome),
            })
        };
        op.run(work, Lookup::outcome).await.map(Lookup::found)
    }

    /// The live row `token` stands for, without loading its user: what `read_token` checks before
    /// it asks the user loader. `None` exactly when `read_token` would say "not authenticated"
    /// for a reason other than a missing user.
    pub async fn read_token_row(
        &self,
        token: Option<&str>,
    ) -> Result<Option<AccessToken<S::UserId>>> {
        let Some(token) = self.well_formed(token, "read_token_row") else { return Ok(None) };
        let op = Operation::start::<S>("read_token_row");
        let work = async {
            let found = self.lookup(token, &op).await?;
            if let Lookup::Found(row) = &found {
                self.note_use(token, row).await;
            }
            Ok(found)
        };
        op.run(work, Lookup::outcome).await.map(Lookup::found)
    }

    /// The live row for a well-formed token, or why there is none.
    pub(super) async fn lookup(
        &self,
        token: &str,
        op: &Operation,
    ) -> Result<Lookup<AccessToken<S::UserId>>> {
        let fetch = |key: StoredKey| async move {
            Ok(self.store.get(key.as_str()).await?.map(|row| (row, ())))
        };
        Ok(match self.find_live(token, op, fetch).await? {
            Lookup::Found((row, ())) => Lookup::Found(row),
            Lookup::Refused(outcome) => Lookup::Refused(outcome),
        })
    }

    /// The one read path: the row [`find_row`](Self::find_row) finds, kept only if it is sound
    /// (bound, not dated in the future) and live.
    async fn find_live<T, F, Fut>(
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
    async fn find_row<T, F, Fut>(
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

    /// Whether `row` is within its lifetime now: its own `expires_at` if it carries one, else
    /// the strategy's lifetime from its creation.
    pub fn is_live(&self, row: &AccessToken<S::UserId>) -> bool {
        // A row's own expiry overrides the strategy's lifetime (a 90-day API token).
        self.liveness().is_live(row)
    }

    /// Which rows are live now.
    pub(super) fn liveness(&self) -> Liveness {
        // One clock read for both bounds (this runs on every read of a token).
        let now = self.now();
        Liveness { now, created_since: self.created_since(now) }
    }

    /// What a presented token is, for operators and diagnostics: unlike `read_token`, it tells
    /// an unknown token from an expired one. It never changes anything.
    pub async fn inspect_token(&self, token: &str) -> Result<TokenStatus<S::UserId>> {
        if self.shape(Some(token)).is_err() {
            return Ok(TokenStatus::Malformed);
        }
        let fetch = |key: StoredKey| async move {
            Ok(self.store.get(key.as_str()).await?.map(|row| (row, ())))
        };
        let Some((index, row, ())) = self.find_row(token, None, fetch).await? else {
            return Ok(TokenStatus::Unknown);
        };
        let live = self.liveness();
        if !self.row_is_sound(token, index, &row, &live) {
            return Ok(TokenStatus::Tampered(row));
        }
        let live = live.is_live(&row);
        Ok(if live { TokenStatus::Valid(row) } else { TokenStatus::Expired(row) })
    }

    /// When `row` expires: its own `expires_at` if it carries one, else its creation plus the
    /// strategy's lifetime; `None` if it never expires.
    pub fn row_expires_at(&self, row: &AccessToken<S::UserId>) -> Option<DateTime<Utc>> {
        row.details.expires_at.or_else(|| self.expires_at(row.created_at))
    }

    /// When a token created at `created_at` with the strategy's lifetime expires; `None` if
    /// tokens never expire.
    pub fn expires_at(&self, created_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Checked: a row from another writer may carry any time; past the calendar's end the
        // token simply never expires within it.
        self.lifetime.map(|lifetime| {
            created_at.checked_add_signed(lifetime).unwrap_or(DateTime::<Utc>::MAX_UTC)
        })
    }

    /// The oldest creation time a live token may have now; `None` if tokens never expire.
    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        self.created_since(self.now())
    }

    /// The oldest creation time a live token may have at `now`.
    pub(super) fn created_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.lifetime
            .map(|lifetime| now.checked_sub_signed(lifetime).unwrap_or(DateTime::<Utc>::MIN_UTC))
    }

    /// The row keys a well-formed token may be stored under.
    ///
    /// With hash keys, one per key, the current key's first: a token under the current key costs
    /// one lookup. Without, exactly one.
    pub(super) fn stored_keys(&self, token: &str) -> StoredKeys {
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
    pub(super) fn shape<'t>(&self, token: Option<&'t str>) -> Result<&'t str, Outcome> {
        let accepted = |token: &str| match self.mode {
            // Plain rows hold the bare token itself.
            StorageMode::Plain => is_well_formed(token),
            StorageMode::Hashed => self.format.is_well_formed(token),
        };
        match token {
            None => Err(Outcome::Missing),
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
    fn outcome(&self) -> Outcome {
        match self {
            Lookup::Found(_) => Outcome::Authenticated,
            Lookup::Refused(outcome) => *outcome,
        }
    }

    fn found(self) -> Option<T> {
        match self {
            Lookup::Found(value) => Some(value),
            Lookup::Refused(_) => None,
        }
    }
}

/// The keys a row may hold for one presented token, tried in order.
pub(super) enum StoredKeys {
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
