//! Whether a stored row may be believed (its binding, its dates), and what a use of it records.

use chrono::{DateTime, TimeDelta, Utc};

use crate::HashKeys;
use crate::limit::Liveness;
use crate::row_binding::BoundExpiry;
use crate::store::{AccessToken, AccessTokenStore, TokenUse};
use crate::token::StorageMode;

use super::DatabaseStrategy;

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// Whether tokens are bound to their rows: server keys, hashed mode, and not turned off.
    pub(super) fn binding_keys(&self) -> Option<&HashKeys> {
        self.hash_keys.as_ref().filter(|_| self.bound_rows && self.mode == StorageMode::Hashed)
    }

    /// The server keys, if any: refresh rows are keyed by them whatever the storage mode (a
    /// refresh token is never stored in plain).
    pub(crate) fn hash_key_ring(&self) -> Option<&HashKeys> {
        self.hash_keys.as_ref()
    }

    /// The keys refresh tokens are bound to their rows with: the server keys, unless bound rows
    /// are turned off.
    pub(crate) fn refresh_binding_keys(&self) -> Option<&HashKeys> {
        self.hash_keys.as_ref().filter(|_| self.bound_rows)
    }

    /// Whether `token`'s tag binds a sliding expiry (a session issued under sliding expiry) under
    /// any of the keys: the one kind of bound token whose expiry may move.
    pub(super) fn is_bound_as_sliding(
        &self,
        keys: &HashKeys,
        token: &str,
        row: &AccessToken<S::UserId>,
    ) -> bool {
        let Some(bytes) = self.format.body_bytes(token) else { return false };
        (0..keys.len()).any(|index| {
            crate::row_binding::matches(keys, index, &bytes, row, BoundExpiry::Sliding)
        })
    }

    /// Whether `row`, found under the key at `key_index` for `token`, may authenticate: never
    /// when it is dated in the future, or (with bound rows) when the token's tag does not match
    /// its fields or it slid past the cap. Each refusal is a logged security event.
    pub(super) fn row_is_sound(
        &self,
        token: &str,
        key_index: usize,
        row: &AccessToken<S::UserId>,
        live: &Liveness,
    ) -> bool {
        let warn = |what: &str| {
            tracing::warn!(target: "authtoken::security", user_id = ?row.user_id, "{what}");
        };
        // In plain mode (fastapi-users' rows, or Redis keys whose creation is read from their
        // TTL) anyone who can write to the table can plant any token anyway: dates prove nothing.
        if self.mode == StorageMode::Hashed && live.is_dated_in_the_future(row) {
            warn("a token row is dated in the future: written by hand, refused");
            return false;
        }
        let Some(keys) = self.binding_keys() else { return true };
        let Some(bytes) = self.format.body_bytes(token) else { return false };
        // The tag says which kind the token was issued as: a fixed expiry (its own, or none:
        // the strategy's lifetime), or a sliding session whose expiry moves within the cap.
        let fixed = BoundExpiry::Fixed(row.details.expires_at);
        if crate::row_binding::matches(keys, key_index, &bytes, row, fixed) {
            return true;
        }
        if !crate::row_binding::matches(keys, key_index, &bytes, row, BoundExpiry::Sliding) {
            warn("a token row does not match its token's tag: rewritten by hand, refused");
            return false;
        }
        if let (Some((_, cap)), Some(end)) = (self.sliding, row.details.expires_at) {
            let limit = row.created_at.checked_add_signed(cap + TimeDelta::seconds(1));
            if limit.is_some_and(|limit| end > limit) {
                warn("a token row expires past the sliding cap: rewritten by hand, refused");
                return false;
            }
        }
        true
    }

    /// The expiry a use at `now` gives `row` under sliding expiry, if it moves it later.
    /// A token issued with its own expiry keeps it: only an expiry that sliding itself set (its
    /// last use, or its creation, plus `idle`; or the cap) moves.
    ///
    /// With bound rows the token's tag says it: only a session issued under sliding expiry
    /// slides. Without, an expiry near the last use (or the creation) plus `idle`, or near the cap,
    /// is taken for one sliding set.
    pub(super) fn slide(
        &self,
        token: &str,
        row: &AccessToken<S::UserId>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let (idle, cap) = self.sliding?;
        let limit = row.created_at.checked_add_signed(cap)?;
        if let Some(keys) = self.binding_keys() {
            if !self.is_bound_as_sliding(keys, token, row) {
                return None;
            }
        } else if let Some(end) = row.details.expires_at {
            let anchor = row.details.last_used_at.unwrap_or(row.created_at);
            // Within a second: stores keep timestamps to the millisecond or microsecond.
            let near = |at: Option<DateTime<Utc>>| {
                at.is_some_and(|at| (end - at).abs() <= TimeDelta::seconds(1))
            };
            if !near(anchor.checked_add_signed(idle)) && !near(Some(limit)) {
                return None;
            }
        }
        let target = now.checked_add_signed(idle)?.min(limit);
        row.details.expires_at.is_none_or(|end| target > end).then_some(target)
    }

    /// Writes the row's last use (and its slid expiry) if tracking is on and the last recorded
    /// use is older than the interval.
    pub(super) async fn note_use(&self, token: &str, row: &AccessToken<S::UserId>) {
        let Some(interval) = self.last_use else { return };
        let now = self.now();
        let since = now.checked_sub_signed(interval).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        if row.details.last_used_at.is_some_and(|used| used >= since) {
            return;
        }
        let used =
            TokenUse { at: now, unless_since: since, extend_to: self.slide(token, row, now) };
        if let Err(error) = self.store.record_use(&row.token, &used).await {
            tracing::warn!(%error, "authtoken: could not record a token's last use");
        }
    }
}
