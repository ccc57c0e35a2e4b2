//! How a strategy is configured: token format, last use, sliding expiry, storage mode, keys,
//! clock, and the per-user limit.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use crate::limit::LimitTokens;
use crate::limit::TokenLimit;
use crate::store::AccessTokenStore;
use crate::token::{StorageMode, TokenFormat};
use crate::{Clock, Error, HashKeys, Result};

use super::{DatabaseStrategy, checked_lifetime, limited_create};

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// Issues tokens in `format` (see [`TokenFormat`]): e.g. prefixed and checksummed, so that
    /// secret scanners find leaked ones and a mistyped one is refused before any query. Bare
    /// tokens stay accepted. A prefixed format needs hashed storage: in plain mode (kept for
    /// fastapi-users' bare tokens) it is an [`Error::Config`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use authtoken::DatabaseStrategy;
    /// use authtoken::memory::MemoryStore;
    /// use authtoken::token::TokenFormat;
    ///
    /// let strategy = DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(3600)))?
    ///     .with_token_format(TokenFormat::prefixed("atk_")?)?;
    /// # Ok::<(), authtoken::Error>(())
    /// ```
    pub fn with_token_format(mut self, format: TokenFormat) -> Result<Self> {
        self.format = format;
        self.check_format()?;
        Ok(self)
    }

    /// A prefixed token does not fit plain storage (its row key is the bare token itself).
    pub(super) fn check_format(&self) -> Result<()> {
        if self.mode == StorageMode::Plain && !self.format.is_bare() {
            return Err(Error::Config(
                "prefixed tokens are hashed at rest; plain mode stores fastapi-users' bare tokens only",
            ));
        }
        Ok(())
    }

    /// Records when each token was last used (`last_used_at`, shown by the CLI's `list`), at most
    /// once per `interval` per token: a read finds the row's last use, and only when it is older
    /// than `interval` does it write (a conditional `UPDATE`, so processes racing over one token
    /// write once). Every other read stays one statement. Needs the store's `last_used_at`
    /// column: without it an [`Error::Config`]. A failed write is logged and does not change
    /// the read's answer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use authtoken::DatabaseStrategy;
    /// use authtoken::memory::MemoryStore;
    ///
    /// let strategy = DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(3600)))?
    ///     .with_last_use_tracking(Duration::from_secs(300))?;
    /// # Ok::<(), authtoken::Error>(())
    /// ```
    pub fn with_last_use_tracking(mut self, interval: Duration) -> Result<Self> {
        if !self.store.columns().last_used_at {
            return Err(Error::Config(
                "last-use tracking needs the token table's `last_used_at` column",
            ));
        }
        self.last_use = Some(checked_lifetime(interval)?);
        Ok(self)
    }

    /// Sliding expiry with an absolute cap: a token expires `idle` after its last use (within
    /// the write interval of [`with_last_use_tracking`](Self::with_last_use_tracking), which
    /// defaults to a tenth of `idle`), and never later than `cap` after it was issued, however
    /// often it is used. Each extension is the same throttled, conditional write as the last
    /// use (one `UPDATE` per token per interval at most), and never revives an expired token.
    /// Tokens issued with their own lifetime keep it unless a use would carry them further.
    /// Needs the store's `expires_at` and `last_used_at` columns: without them an
    /// [`Error::Config`]; so is a cap shorter than `idle`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use authtoken::DatabaseStrategy;
    /// use authtoken::memory::MemoryStore;
    ///
    /// // Idle sessions end after 30 minutes; none lives past a week.
    /// let strategy = DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(1800)))?
    ///     .with_sliding_expiry(Duration::from_secs(1800), Duration::from_secs(7 * 24 * 3600))?;
    /// # Ok::<(), authtoken::Error>(())
    /// ```
    pub fn with_sliding_expiry(mut self, idle: Duration, cap: Duration) -> Result<Self> {
        let columns = self.store.columns();
        if !(columns.expires_at && columns.last_used_at) {
            return Err(Error::Config(
                "sliding expiry needs the token table's `expires_at` and `last_used_at` columns",
            ));
        }
        let (idle, cap) = (checked_lifetime(idle)?, checked_lifetime(cap)?);
        if cap < idle {
            return Err(Error::Config(
                "a sliding expiry's cap must not be shorter than its idle time",
            ));
        }
        self.sliding = Some((idle, cap));
        if self.last_use.is_none() {
            self.last_use = Some((idle / 10).max(TimeDelta::seconds(1)));
        }
        Ok(self)
    }

    /// Chooses how tokens are kept in rows; see [`StorageMode`].
    pub fn with_storage_mode(mut self, mode: StorageMode) -> Self {
        self.mode = mode;
        self
    }

    /// Hashes tokens with HMAC-SHA-256 under server keys instead of a bare SHA-256 (hashed mode
    /// only; plain mode stores the token itself): someone who can write to the token table then
    /// cannot plant a row for a token of their choosing. See [`HashKeys`] for rotation.
    ///
    /// Rows written without keys stop authenticating once keys are set (their hash is not keyed):
    /// switching logs everyone out once, as switching from plain to hashed does.
    ///
    /// Keys also bind each row to its token: a new token carries the first 8 bytes of
    /// HMAC(key, its random part, the row's user id, creation second, expiry and scopes), and
    /// every read checks it against the row it finds. A row rewritten by hand
    /// (`UPDATE … SET user_id = 1`, an older `created_at`, a later `expires_at`, more scopes)
    /// then authenticates nobody, and the refusal is a logged security event (target
    /// `authtoken::security`). With sliding expiry the tag binds the cap instead of the moving
    /// expiry: a row may not expire later than `cap` after its creation. Tokens keep their shape
    /// (43 characters, 192 of their 256 bits random); no column or migration is needed, on any
    /// store. Keyed tokens issued before the binding existed fail it: see
    /// [`without_row_binding`](Self::without_row_binding).
    ///
    /// ```
    /// use std::time::Duration;
    /// use authtoken::{DatabaseStrategy, HashKeys};
    /// use authtoken::memory::MemoryStore;
    ///
    /// let keys = HashKeys::new(&[7u8; 32])?; // from a secret store, never from the source
    /// let strategy = DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(3600)))?
    ///     .with_hash_keys(keys);
    /// # Ok::<(), authtoken::Error>(())
    /// ```
    pub fn with_hash_keys(mut self, keys: HashKeys) -> Self {
        self.hash_keys = Some(keys);
        self
    }

    /// Turns off the binding of rows to their tokens that server keys bring (see
    /// [`with_hash_keys`](Self::with_hash_keys)): for a deployment that must keep accepting keyed
    /// tokens issued before the binding existed, until they expire. Without the binding a row
    /// whose fields are rewritten by hand (another `user_id`, a later expiry) still matches its
    /// token.
    pub fn without_row_binding(mut self) -> Self {
        self.bound_rows = false;
        self
    }

    /// Reads the time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl<S: LimitTokens> DatabaseStrategy<S> {
    /// Keeps every user at most `limit.max()` live tokens (django-rest-knox's
    /// `TOKEN_LIMIT_PER_USER`): a login beyond it is refused with
    /// [`Error::TokenLimitReached`], or revokes the user's oldest tokens, as `limit` says.
    /// Expired tokens do not count. The store applies it and stores the new token as one step
    /// per user, so concurrent logins of one user never leave more than `max` standing.
    ///
    /// Every token counts, sessions and API tokens alike; a strategy without the limit (the
    /// CLI, another process) still issues beyond it.
    ///
    /// ```
    /// # async fn run() -> authtoken::Result<()> {
    /// use std::num::NonZeroU32;
    /// use std::time::Duration;
    /// use authtoken::limit::{TokenLimit, WhenFull};
    /// use authtoken::memory::MemoryStore;
    /// use authtoken::{DatabaseStrategy, User};
    ///
    /// struct Account { id: u64 }
    /// impl User for Account {
    ///     type Id = u64;
    ///     fn id(&self) -> &u64 { &self.id }
    /// }
    ///
    /// let two = TokenLimit::new(NonZeroU32::new(2).unwrap(), WhenFull::EvictOldest);
    /// let strategy = DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(3600)))?
    ///     .with_token_limit(two);
    /// let alice = Account { id: 1 };
    /// let first = strategy.write_token(&alice).await?;
    /// strategy.write_token(&alice).await?;
    /// strategy.write_token(&alice).await?;
    /// // The third login revoked the first.
    /// assert!(strategy.read_token_row(first.expose_secret()).await?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn with_token_limit(mut self, limit: TokenLimit) -> Self {
        self.limit = Some((limit, limited_create::<S>));
        self
    }
}
