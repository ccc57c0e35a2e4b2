//! What operators and diagnostics need beyond a request's read: a token's status told apart
//! (unknown, expired, tampered), its live row without its user, a revoke by token alone, and the
//! strategy's view of expiry. The operator CLI is built on these.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::limit::Liveness;
use crate::observe::{Operation, Outcome};
use crate::store::{AccessToken, AccessTokenStore};
use crate::token::StoredKey;

use super::read::Lookup;
use super::{DatabaseStrategy, TokenStatus};

/// The operator-facing part: the application reads with
/// [`read_token`](DatabaseStrategy::read_token) and logs out with
/// [`destroy_token`](DatabaseStrategy::destroy_token) and
/// [`destroy_all_tokens`](DatabaseStrategy::destroy_all_tokens).
impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// The live row `token` stands for, without its user: what `read_token` checks before it
    /// looks for the user (a use is recorded as by `read_token`). `None` exactly when
    /// `read_token` would say "not authenticated" for a reason other than a missing user.
    pub async fn read_token_row(&self, token: &str) -> Result<Option<AccessToken<S::UserId>>> {
        let Some(token) = self.well_formed(Some(token), "read_token_row") else { return Ok(None) };
        let op = Operation::start::<S>("read_token_row");
        let work = async {
            let fetch = |key: StoredKey| async move {
                Ok(self.store.get(key.as_str()).await?.map(|row| (row, ())))
            };
            let found = match self.find_live(token, &op, fetch).await? {
                Lookup::Found((row, ())) => Lookup::Found(row),
                Lookup::Refused(outcome) => Lookup::Refused(outcome),
            };
            if let Lookup::Found(row) = &found {
                self.note_use(token, row).await;
            }
            Ok(found)
        };
        op.run(work, Lookup::outcome).await.map(Lookup::found)
    }

    /// Revokes `token` whoever owns it (an operator's revoke); `true` if a row was deleted.
    pub async fn revoke_token(&self, token: &str) -> Result<bool> {
        let op = Operation::start::<S>("revoke_token");
        let work = async {
            match self.inspect_token(token).await? {
                TokenStatus::Valid(row)
                | TokenStatus::Expired(row)
                | TokenStatus::Tampered(row) => {
                    op.user(&row.user_id);
                    self.store.delete(&row.token, &row.user_id).await
                }
                TokenStatus::Malformed | TokenStatus::Unknown => Ok(false),
            }
        };
        op.run(work, |revoked| if *revoked { Outcome::Revoked } else { Outcome::NothingRevoked })
            .await
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
        Liveness { now, created_since: self.created_since_at(now) }
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

    /// The oldest creation time a live token without its own expiry may have now (the cutoff
    /// of [`Liveness::created_since`] and of a purge); `None` if tokens never expire.
    pub fn created_since(&self) -> Option<DateTime<Utc>> {
        self.created_since_at(self.now())
    }

    /// The oldest creation time a live token may have at `now`.
    pub(super) fn created_since_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.lifetime
            .map(|lifetime| now.checked_sub_signed(lifetime).unwrap_or(DateTime::<Utc>::MIN_UTC))
    }
}
