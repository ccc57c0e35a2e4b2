//! The storage contract: what a backend must do for the strategy, split by capability.
//!
//! [`AccessTokenStore`] is all a request needs: look a token up, store a new one, delete one,
//! delete all of a user's. What only some backends can do comes as separate traits a store
//! implements when it can:
//!
//! - [`ListTokens`]: a user's tokens, for an operator's `list`;
//! - [`PurgeExpired`]: delete expired rows in bounded batches (a store whose keys expire by
//!   themselves, such as Redis with a TTL, has no need of it);
//! - [`JoinedUserStore`]: the token and its user in one query (a join);
//! - [`LimitTokens`](crate::limit::LimitTokens) (beside [`TokenLimit`](crate::limit::TokenLimit)):
//!   store a token and keep its user under a per-user limit, as one step.

use std::future::Future;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};

use crate::{Result, User, UserId};

/// One row of the token table.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken<Id> {
    /// What the row is keyed by: the token's hash, or in plain mode the token itself.
    pub token: String,
    /// The owner.
    pub user_id: Id,
    /// When the token was issued, in UTC. Unless the row carries its own
    /// [`expires_at`](TokenDetails::expires_at), a token expires `lifetime` after this.
    pub created_at: DateTime<Utc>,
    /// What the optional columns hold (API tokens): empty for a table without them.
    pub details: TokenDetails,
}

impl<Id> AccessToken<Id> {
    /// A row with no details (what a three-column table holds).
    ///
    /// ```
    /// use authtoken::AccessToken;
    /// let row = AccessToken::new("key".to_owned(), 42u64, chrono::Utc::now());
    /// assert!(row.details.name.is_none());
    /// ```
    pub fn new(token: String, user_id: Id, created_at: DateTime<Utc>) -> Self {
        Self { token, user_id, created_at, details: TokenDetails::default() }
    }
}

/// The optional columns of a token row: per-token expiry, a name, scopes, the last use. A store
/// says which it keeps with [`AccessTokenStore::columns`]; the default table keeps none, so it
/// stays the three columns fastapi-users shares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenDetails {
    /// When this token stops working, whatever the strategy's lifetime: a 90-day CI token beside
    /// one-hour sessions. `None`: the strategy's lifetime applies.
    pub expires_at: Option<DateTime<Utc>>,
    /// A name its owner gave it ("CI deploy").
    pub name: Option<String>,
    /// What it may do (Sanctum's abilities); empty: no scopes recorded.
    pub scopes: Vec<String>,
    /// When it was last used, written at most once per interval.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The user agent of the client it was issued to (the `user_agent` column, see
    /// [`ClientInfo`](crate::ClientInfo)).
    pub user_agent: Option<String>,
    /// The address of that client (the `address` column), as text.
    pub address: Option<String>,
}

/// One use of a token, as [`AccessTokenStore::record_use`] writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenUse {
    /// When it was used: the new `last_used_at`.
    pub at: DateTime<Utc>,
    /// Write nothing if `last_used_at` is already at or after this (another process just did).
    pub unless_since: DateTime<Utc>,
    /// With sliding expiry, the new `expires_at` (only ever later than the current one).
    pub extend_to: Option<DateTime<Utc>>,
}

impl TokenUse {
    /// Whether a row with `last_used_at` and `expires_at` takes this use.
    pub fn applies_to(&self, details: &TokenDetails) -> bool {
        details.last_used_at.is_none_or(|used| used < self.unless_since)
            && details.expires_at.is_none_or(|end| end >= self.at)
    }

    /// Applies this use to `details` (what a store that keeps rows in memory does).
    pub fn apply(&self, details: &mut TokenDetails) {
        if self.applies_to(details) {
            details.last_used_at = Some(self.at);
            if let Some(to) = self.extend_to {
                details.expires_at = Some(details.expires_at.map_or(to, |end| end.max(to)));
            }
        }
    }
}

/// Which optional columns a store keeps ([`AccessTokenStore::columns`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenColumns {
    /// `expires_at`: per-token expiry.
    pub expires_at: bool,
    /// `name`.
    pub name: bool,
    /// `scopes`.
    pub scopes: bool,
    /// `last_used_at`.
    pub last_used_at: bool,
    /// `user_agent` and `address`: the client a session shows. Without them a token is still
    /// issued, its [`ClientInfo`](crate::ClientInfo) left out (it is informational).
    pub client: bool,
}

impl TokenColumns {
    /// Every optional column.
    pub const ALL: Self = Self { client: true, ..Self::DETAILS };
    /// The four API-token columns, without the client's.
    pub const DETAILS: Self =
        Self { expires_at: true, name: true, scopes: true, last_used_at: true, client: false };
    /// None: the three-column table.
    pub const NONE: Self =
        Self { expires_at: false, name: false, scopes: false, last_used_at: false, client: false };
}

impl<Id: std::fmt::Debug> std::fmt::Debug for AccessToken<Id> {
    // In plain mode `token` is a live credential: show only a prefix, enough to tell rows apart.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &format_args!("{}…", self.token.get(..6).unwrap_or("")))
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("details", &self.details)
            .finish()
    }
}

/// Storage for token rows: what every store implements.
///
/// `token` arguments are always the stored key (see [`StorageMode`](crate::StorageMode)), never a
/// plaintext the store should hash. Every method reports a backend failure as
/// [`Error::Store`](crate::Error::Store); "not found" is `None`, `false` or `0`.
///
/// A store is used through [`DatabaseStrategy`](crate::DatabaseStrategy), which hashes tokens,
/// checks their shape and their lifetime. The `authtoken-conformance` crate checks a store against
/// this contract with one macro line.
pub trait AccessTokenStore: Send + Sync {
    /// The user id type of the `user_id` column.
    type UserId: UserId;

    /// The row for `token`, if it exists. Whether it is still live is the strategy's check,
    /// on the row itself.
    fn get(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<AccessToken<Self::UserId>>>> + Send;

    /// Inserts a row. An existing row with the same token is
    /// [`Error::DuplicateToken`](crate::Error::DuplicateToken), never overwritten.
    ///
    /// `expires_at` is when the strategy will stop accepting the token (`None`: never). A store
    /// whose keys can expire by themselves (a TTL) may use it to drop the row then; the strategy
    /// checks expiry on every read regardless, so a store may also ignore it.
    fn create(
        &self,
        row: AccessToken<Self::UserId>,
        expires_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes the row for `token` if `owner` owns it; `false` if nothing was deleted.
    fn delete(
        &self,
        token: &str,
        owner: &Self::UserId,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes every row of `owner`, returning how many went.
    fn delete_all_of_user(&self, owner: &Self::UserId) -> impl Future<Output = Result<u64>> + Send;

    /// The optional columns this store keeps (default: none). The strategy refuses to issue a
    /// token whose details the store would drop, rather than lose them silently.
    fn columns(&self) -> TokenColumns {
        TokenColumns::NONE
    }

    /// Records a use of `token` ([`TokenUse`]): sets `last_used_at` and, with sliding expiry,
    /// moves `expires_at` later, unless its `last_used_at` is already recent (so that processes
    /// racing over one token write once) or the row has expired meanwhile (a use never revives
    /// a token). Only called when [`columns`](Self::columns) has `last_used_at`; the default
    /// does nothing.
    fn record_use(&self, token: &str, used: &TokenUse) -> impl Future<Output = Result<()>> + Send {
        let _ = (token, used);
        std::future::ready(Ok(()))
    }
}

/// A store that can list tokens: an operator's `authtoken list`, and finding a token from the
/// fingerprint a leak report carries (`authtoken revoke --fingerprint`).
pub trait ListTokens: AccessTokenStore {
    /// Every row of `owner`, oldest first.
    fn list_of_user(
        &self,
        owner: &Self::UserId,
    ) -> impl Future<Output = Result<Vec<AccessToken<Self::UserId>>>> + Send;

    /// At most `limit` rows whose stored key starts with `prefix` (compared byte for byte; a
    /// prefix holds base64url characters only), ordered by key.
    fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: NonZeroU32,
    ) -> impl Future<Output = Result<Vec<AccessToken<Self::UserId>>>> + Send;
}

/// A store whose expired rows stay until deleted, and can be deleted in bounded batches.
///
/// Used by [`DatabaseStrategy::purge_expired`](crate::DatabaseStrategy::purge_expired), the
/// background purge task and the operator CLI's `purge`.
pub trait PurgeExpired: AccessTokenStore {
    /// Deletes at most `limit` expired rows, oldest first, returning how many went: those with
    /// their own `expires_at` before `now`, and those without one created strictly before
    /// `cutoff` (a 90-day token created before the cutoff is still live). A store without the
    /// `expires_at` column has only the second kind.
    ///
    /// Bounded so that a purge of a large backlog is many short statements, never one long lock.
    fn delete_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// How many rows [`delete_expired`](Self::delete_expired) would delete.
    fn count_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// A token's row with its owner joined in: `None` for the owner when the user no longer exists.
pub type RowWithUser<Id, U> = (AccessToken<Id>, Option<U>);

/// A store that can return a token's row and its user in one query (a join), so that reading a
/// token costs one round trip instead of two.
///
/// Used by [`DatabaseStrategy::read_token`](crate::DatabaseStrategy::read_token) with
/// [`Joined`](crate::Joined).
pub trait JoinedUserStore<U: User<Id = Self::UserId>>: AccessTokenStore {
    /// Like [`get`](AccessTokenStore::get), with the owner joined in.
    fn get_with_user(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<RowWithUser<Self::UserId, U>>>> + Send;
}
