//! Ending tokens: one (logout, an operator's revoke), all of a user's, and the expired ones.

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};

use crate::observe::{Operation, Outcome};
use crate::store::{AccessTokenStore, PurgeExpired};
use crate::token::StorageMode;
use crate::{Result, User};

use super::DatabaseStrategy;

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// Revokes `token` if it belongs to `user`, expired or not; `true` if a row was deleted.
    ///
    /// Someone else's token is left alone, and a malformed or unknown token is a no-op.
    pub async fn destroy_token<U: User<Id = S::UserId>>(
        &self,
        token: &str,
        user: &U,
    ) -> Result<bool> {
        if self.well_formed(Some(token), "destroy_token").is_none() {
            return Ok(false);
        }
        let op = Operation::start::<S>("destroy_token");
        op.user(user.id());
        let work = async {
            for key in self.stored_keys(token) {
                op.key(key.as_str(), self.mode == StorageMode::Hashed);
                if self.store.delete(key.as_str(), user.id()).await? {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        op.run(work, |revoked| if *revoked { Outcome::Revoked } else { Outcome::NothingRevoked })
            .await
    }

    /// Revokes every token of `user` ("log out everywhere"), returning how many went.
    pub async fn destroy_all_tokens<U: User<Id = S::UserId>>(&self, user: &U) -> Result<u64> {
        let op = Operation::start::<S>("destroy_all_tokens");
        op.user(user.id());
        let deleted = op.run(self.store.delete_all_of_user(user.id()), |deleted| {
            if *deleted > 0 { Outcome::Revoked } else { Outcome::NothingRevoked }
        });
        let deleted = deleted.await?;
        op.deleted(deleted);
        Ok(deleted)
    }
}

impl<S: PurgeExpired> DatabaseStrategy<S> {
    /// Deletes every expired row, `batch_size` rows per statement, returning how many went.
    ///
    /// The cutoff is fixed when the purge starts, so tokens issued meanwhile are never touched and
    /// the loop ends. With no lifetime nothing expires and nothing is deleted.
    pub async fn purge_expired(&self, batch_size: NonZeroU32) -> Result<u64> {
        self.purge_expired_with_progress(batch_size, |_| {}).await
    }

    /// [`purge_expired`](Self::purge_expired), calling `on_batch` with the rows each batch
    /// deleted (for a progress bar).
    pub async fn purge_expired_with_progress(
        &self,
        batch_size: NonZeroU32,
        mut on_batch: impl FnMut(u64) + Send,
    ) -> Result<u64> {
        // Rows with their own expiry expire even when the strategy's tokens never do.
        if self.lifetime.is_none() && !self.store.columns().expires_at {
            return Ok(0);
        }
        // No lifetime: no row expires by its age. The epoch rather than the calendar's start,
        // which SQL drivers cannot encode (MySQL's DATETIME starts at year 1000).
        let cutoff = self.created_since().unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let now = self.now();
        let op = Operation::start::<S>("purge_expired");
        let work = async {
            let mut total = 0;
            loop {
                let deleted = self.store.delete_expired(now, cutoff, batch_size).await?;
                total += deleted;
                on_batch(deleted);
                tracing::debug!(deleted, total, "purged a batch of expired access tokens");
                if deleted < u64::from(batch_size.get()) {
                    return Ok(total);
                }
            }
        };
        let total = op.run(work, |_| Outcome::Purged).await?;
        op.deleted(total);
        Ok(total)
    }
}
