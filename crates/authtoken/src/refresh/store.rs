//! The storage contract of refresh tokens: rows of one family, spent one by one.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::{Result, UserId};

/// One refresh token as its store keeps it (never the token itself: its SHA-256, or with server
/// keys its HMAC).
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshRow<Id> {
    /// base64url(SHA-256(refresh token)), or with server keys base64url(HMAC-SHA-256(key,
    /// refresh token)): what the row is found by.
    pub key: String,
    /// The family (one login) the token belongs to: every token rotated from that login's.
    pub family: String,
    /// The owner.
    pub user_id: Id,
    /// When the family started (the login): the absolute cap counts from it.
    pub family_started_at: DateTime<Utc>,
    /// When this token was issued: the idle timeout counts from it.
    pub issued_at: DateTime<Utc>,
    /// The stored key of the access token issued with it, revoked when the family ends.
    pub access_key: String,
    /// When it was spent (presented and rotated); `None` while it is the family's live one.
    pub spent_at: Option<DateTime<Utc>>,
}

impl<Id: std::fmt::Debug> std::fmt::Debug for RefreshRow<Id> {
    // The keys are one-way hashes, but a prefix is all a log needs to tell rows apart.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRow")
            .field("key", &format_args!("{}…", self.key.get(..6).unwrap_or("")))
            .field("family", &self.family)
            .field("user_id", &self.user_id)
            .field("family_started_at", &self.family_started_at)
            .field("issued_at", &self.issued_at)
            .field("spent_at", &self.spent_at)
            .finish_non_exhaustive()
    }
}

/// Storage for refresh tokens: what [`RefreshStrategy`](crate::refresh::RefreshStrategy) needs
/// beside an [`AccessTokenStore`](crate::AccessTokenStore). Every method reports a backend
/// failure as [`Error::Store`](crate::Error::Store).
///
/// The one step that must be atomic is [`rotate`](Self::rotate): of two requests presenting the
/// same token, exactly one spends it; and a family ended by [`end_family`](Self::end_family)
/// never gains a token afterwards (a rotation racing with the end either lands first, and its
/// new row is ended with the family, or finds the family gone).
pub trait RefreshStore: Send + Sync {
    /// The user id type.
    type UserId: UserId;

    /// The row of `key`, spent or not; `None` when there is none (never issued, or its family
    /// ended).
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<RefreshRow<Self::UserId>>>> + Send;

    /// Stores the first row of a new family (a login).
    fn start_family(
        &self,
        first: RefreshRow<Self::UserId>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// As one step: if `presented` is unspent and its family has not ended, marks it spent at
    /// `at` and stores `next` (of the same family); `false`, storing nothing, otherwise.
    fn rotate(
        &self,
        presented: &str,
        at: DateTime<Utc>,
        next: RefreshRow<Self::UserId>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Ends `family`: none of its tokens rotates again. Returns its rows as they were (their
    /// access keys are what the caller revokes); none for an unknown or ended family.
    fn end_family(
        &self,
        family: &str,
    ) -> impl Future<Output = Result<Vec<RefreshRow<Self::UserId>>>> + Send;

    /// Every row (spent or not) of `user_id`'s live families: what "log out everywhere" and
    /// the session routes end.
    fn user_rows(
        &self,
        user_id: &Self::UserId,
    ) -> impl Future<Output = Result<Vec<RefreshRow<Self::UserId>>>> + Send;

    /// The family an access token was issued in, by the access token's stored key.
    fn family_of_access(
        &self,
        access_key: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
}
