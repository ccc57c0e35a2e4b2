//! How a refresh token is minted, stored and found. Without server keys its row is keyed by its
//! SHA-256. With them ([`DatabaseStrategy::with_hash_keys`](crate::DatabaseStrategy::with_hash_keys)),
//! as access tokens are: the row is keyed by the token's HMAC under the current key (found under
//! every key of the ring), so a row planted without the key is never found; and (unless bound
//! rows are turned off) the token carries a tag of its row's family, owner and dates, so a row
//! rewritten by hand (moved to another user, made younger) mints nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound, Utc};

use super::store::{RefreshRow, RefreshStore};
use super::strategy::RefreshStrategy;
use crate::row_binding::{RANDOM_BYTES, bound_refresh_bytes, refresh_matches};
use crate::token::{StoredKey, TOKEN_BYTES};
use crate::{AccessTokenStore, Error, PlaintextToken, Result};

impl<S, R> RefreshStrategy<S, R>
where
    S: AccessTokenStore,
    R: RefreshStore<UserId = S::UserId>,
{
    /// A time for a refresh row: whole seconds when rows are bound (every store keeps those
    /// exactly, so the tag still matches when the row is read back).
    pub(super) fn row_time(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.access.refresh_binding_keys() {
            Some(_) => now.trunc_subsecs(0),
            None => now,
        }
    }

    /// A new refresh token for `row`, whose key it sets.
    pub(super) fn mint_refresh(&self, row: &mut RefreshRow<S::UserId>) -> Result<PlaintextToken> {
        let token = match self.access.refresh_binding_keys() {
            Some(keys) => {
                let mut random = [0u8; RANDOM_BYTES];
                getrandom::fill(&mut random).map_err(|e| Error::Random(e.to_string()))?;
                let bytes = bound_refresh_bytes(keys, random, row);
                PlaintextToken::from_secret(URL_SAFE_NO_PAD.encode(bytes))
            }
            None => PlaintextToken::generate()?,
        };
        row.key = self.refresh_keys(token.expose_secret()).swap_remove(0);
        Ok(token)
    }

    /// The keys `token`'s row may be stored under: its HMAC under each server key (the current
    /// key's first), or its SHA-256 without keys.
    fn refresh_keys(&self, token: &str) -> Vec<String> {
        match self.access.hash_key_ring() {
            Some(keys) => {
                keys.digests(token).map(|d| StoredKey::of_digest(d).as_str().to_owned()).collect()
            }
            None => vec![StoredKey::hash_of(token).as_str().to_owned()],
        }
    }

    /// The row `presented` (well formed) finds, and its key; `None` when there is none, or when
    /// its row does not match the token's tag (a security event: written by hand).
    pub(super) async fn find_refresh(
        &self,
        presented: &str,
    ) -> Result<Option<(String, RefreshRow<S::UserId>)>> {
        for (index, key) in self.refresh_keys(presented).into_iter().enumerate() {
            let Some(row) = self.refresh.get(&key).await? else { continue };
            if let Some(keys) = self.access.refresh_binding_keys() {
                let mut bytes = [0u8; TOKEN_BYTES];
                let decoded = URL_SAFE_NO_PAD.decode_slice(presented, &mut bytes);
                let sound =
                    decoded == Ok(TOKEN_BYTES) && refresh_matches(keys, index, &bytes, &row);
                if !sound {
                    tracing::warn!(
                        target: "authtoken::security",
                        family = %row.family,
                        user_id = ?row.user_id,
                        "a refresh token row does not match its token's tag: rewritten by hand, refused"
                    );
                    return Ok(None);
                }
            }
            return Ok(Some((key, row)));
        }
        Ok(None)
    }
}
