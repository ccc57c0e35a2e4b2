//! A cap on how many live tokens one user may hold (django-rest-knox's `TOKEN_LIMIT_PER_USER`):
//! beyond it a new login is refused, or the user's oldest tokens are revoked to make room.
//!
//! The strategy asks a [`LimitTokens`] store to store the new row and
//! apply the limit as one step per user, so that concurrent logins of one user (16 browser tabs
//! at once) never leave more than the limit standing.

use std::future::Future;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};

use crate::store::{AccessToken, AccessTokenStore};
use crate::{Error, Result};

/// What happens to a login when its user already holds the most live tokens allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenFull {
    /// The login fails with [`Error::TokenLimitReached`]; the user's tokens stay as they are.
    Refuse,
    /// The user's oldest live tokens (by creation time) are revoked so that the new one fits.
    EvictOldest,
}

/// At most `max` live tokens per user; see [`DatabaseStrategy::with_token_limit`](crate::DatabaseStrategy::with_token_limit).
///
/// ```
/// use std::num::NonZeroU32;
/// use authtoken::limit::{TokenLimit, WhenFull};
///
/// let five_devices = TokenLimit::new(NonZeroU32::new(5).unwrap(), WhenFull::EvictOldest);
/// assert_eq!(five_devices.max().get(), 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLimit {
    max: NonZeroU32,
    when_full: WhenFull,
}

impl TokenLimit {
    /// At most `max` live tokens per user; `when_full` says what a login beyond that does.
    pub fn new(max: NonZeroU32, when_full: WhenFull) -> Self {
        Self { max, when_full }
    }

    /// The most live tokens a user may hold.
    pub fn max(&self) -> NonZeroU32 {
        self.max
    }

    /// What a login beyond the limit does.
    pub fn when_full(&self) -> WhenFull {
        self.when_full
    }

    /// The keys to delete before one more token of a user whose rows are `rows` may be stored
    /// (empty when there is room), or [`Error::TokenLimitReached`] if the limit refuses it.
    /// Expired rows neither count nor go. A store calls this on the user's rows read under its
    /// per-user lock, then deletes what it returns and inserts the new row under the same lock.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use authtoken::AccessToken;
    /// use authtoken::limit::{Liveness, TokenLimit, WhenFull};
    /// use chrono::{TimeDelta, Utc};
    ///
    /// let now = Utc::now();
    /// let rows = [
    ///     AccessToken::new("old".to_owned(), 7u64, now - TimeDelta::minutes(2)),
    ///     AccessToken::new("new".to_owned(), 7u64, now - TimeDelta::minutes(1)),
    /// ];
    /// let live = Liveness { now, created_since: None };
    /// let limit = TokenLimit::new(NonZeroU32::new(2).unwrap(), WhenFull::EvictOldest);
    /// assert_eq!(limit.make_room(&rows, &live)?, ["old"]);
    /// # Ok::<(), authtoken::Error>(())
    /// ```
    pub fn make_room<Id>(&self, rows: &[AccessToken<Id>], live: &Liveness) -> Result<Vec<String>> {
        let mut standing: Vec<&AccessToken<Id>> = rows.iter().filter(|r| live.is_live(r)).collect();
        let max = usize::try_from(self.max.get()).unwrap_or(usize::MAX);
        if standing.len() < max {
            return Ok(Vec::new());
        }
        match self.when_full {
            WhenFull::Refuse => Err(Error::TokenLimitReached),
            WhenFull::EvictOldest => {
                // Oldest first; rows read with no creation time of their own (fastapi-users'
                // Redis values, dated when read) are told apart by when they expire.
                standing.sort_by(|a, b| {
                    let expiry = |row: &AccessToken<Id>| row.details.expires_at;
                    a.created_at
                        .cmp(&b.created_at)
                        .then_with(|| expiry(a).cmp(&expiry(b)))
                        .then_with(|| a.token.cmp(&b.token))
                });
                let excess = standing.len() + 1 - max;
                Ok(standing.into_iter().take(excess).map(|row| row.token.clone()).collect())
            }
        }
    }
}

/// Which rows count as live at the moment a token is issued: the strategy's view of expiry,
/// handed to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// The time of the issue.
    pub now: DateTime<Utc>,
    /// Rows without their own expiry are live if created at or after this (`None`: tokens
    /// never expire by age).
    pub created_since: Option<DateTime<Utc>>,
}

/// How far ahead of a reader's clock a row's creation or last use may lie: the skew between the
/// clocks of the processes that write and read a table (NTP keeps them within milliseconds).
pub const MAX_CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl Liveness {
    /// Whether `row` was created or last used more than [`MAX_CLOCK_SKEW`] after `now`: the
    /// strategy writes neither, so such a row was written by hand (an
    /// `UPDATE … SET created_at = '2999-…'` would otherwise keep it alive, or slide it, for
    /// ever). Hashed reads refuse it.
    pub fn is_dated_in_the_future<Id>(&self, row: &AccessToken<Id>) -> bool {
        let horizon =
            self.now.checked_add_signed(MAX_CLOCK_SKEW).unwrap_or(DateTime::<Utc>::MAX_UTC);
        row.created_at > horizon || row.details.last_used_at.is_some_and(|used| used > horizon)
    }

    /// Whether `row` is live: its own `expires_at` not passed, or without one, created within
    /// the strategy's lifetime. The strategy's reads decide the same way.
    /// (The strategy's reads also refuse a row [dated in the future](Self::is_dated_in_the_future).)
    pub fn is_live<Id>(&self, row: &AccessToken<Id>) -> bool {
        match row.details.expires_at {
            Some(end) => self.now <= end,
            None => self.created_since.is_none_or(|oldest| row.created_at >= oldest),
        }
    }
}

/// A store that can keep each user under a [`TokenLimit`]: it stores a new row and revokes or
/// refuses per the limit as one step per user, so that concurrent logins of one user never leave
/// more than the limit standing (a lock per user, or the database's own serialisation).
///
/// Used by [`DatabaseStrategy::with_token_limit`](crate::DatabaseStrategy::with_token_limit).
pub trait LimitTokens: AccessTokenStore {
    /// Stores `row` as [`create`](AccessTokenStore::create) does, unless its user already holds
    /// `limit.max()` tokens live under `live`: then, per the limit, fails with
    /// [`Error::TokenLimitReached`] and stores nothing, or
    /// deletes the user's oldest live rows first (see [`TokenLimit::make_room`]). Returns the
    /// keys it deleted, so that a cache in front can forget them.
    fn create_within_limit(
        &self,
        row: AccessToken<Self::UserId>,
        expires_at: Option<DateTime<Utc>>,
        limit: TokenLimit,
        live: Liveness,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// The steps of a limited login under a per-user lock a store holds outside any transaction
/// (Redis and MongoDB take a lease): read the user's rows with `rows`, make room per `limit`,
/// delete what goes, store `row`; all before `held_until` (well inside the lease's expiry), or
/// an error and nothing more is done. Returns the deleted keys.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::num::NonZeroU32;
/// use authtoken::limit::{Liveness, TokenLimit, WhenFull, create_under_lock};
/// use authtoken::memory::MemoryStore;
/// use authtoken::store::{AccessToken, AccessTokenStore};
/// let store = MemoryStore::<u64>::new();
/// let limit = TokenLimit::new(NonZeroU32::new(1).unwrap(), WhenFull::Refuse);
/// let live = Liveness { now: chrono::Utc::now(), created_since: None };
/// let until = tokio::time::Instant::now() + std::time::Duration::from_secs(4);
/// let row = AccessToken::new("k1".into(), 7, chrono::Utc::now());
/// let none = async { Ok(Vec::new()) };
/// assert!(create_under_lock(&store, row, None, limit, live, until, none).await.unwrap().is_empty());
/// assert!(store.get("k1").await.unwrap().is_some());
/// # });
/// ```
#[cfg(feature = "tokio")]
pub async fn create_under_lock<S: AccessTokenStore>(
    store: &S,
    row: AccessToken<S::UserId>,
    expires_at: Option<DateTime<Utc>>,
    limit: TokenLimit,
    live: Liveness,
    held_until: tokio::time::Instant,
    rows: impl Future<Output = Result<Vec<AccessToken<S::UserId>>>>,
) -> Result<Vec<String>> {
    let steps = async {
        let evicted = limit.make_room(&rows.await?, &live)?;
        for key in &evicted {
            store.delete(key, &row.user_id).await?;
        }
        store.create(row, expires_at).await?;
        Ok(evicted)
    };
    tokio::time::timeout_at(held_until, steps).await.unwrap_or_else(|_| {
        Err(Error::store("a login under the per-user limit took longer than its lock allows"))
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn rows(now: DateTime<Utc>) -> Vec<AccessToken<u8>> {
        let mut expired = AccessToken::new("expired".to_owned(), 1, now - TimeDelta::hours(9));
        expired.details.expires_at = Some(now - TimeDelta::seconds(1));
        vec![
            AccessToken::new("b".to_owned(), 1, now - TimeDelta::minutes(3)),
            AccessToken::new("stale".to_owned(), 1, now - TimeDelta::hours(2)),
            expired,
            AccessToken::new("a".to_owned(), 1, now - TimeDelta::minutes(3)),
            AccessToken::new("c".to_owned(), 1, now - TimeDelta::minutes(1)),
        ]
    }

    fn limit(max: u32, when_full: WhenFull) -> TokenLimit {
        TokenLimit::new(NonZeroU32::new(max).unwrap(), when_full)
    }

    #[test]
    fn expired_rows_neither_count_nor_go() {
        let now = Utc::now();
        let live = Liveness { now, created_since: Some(now - TimeDelta::hours(1)) };
        assert!(limit(4, WhenFull::Refuse).make_room(&rows(now), &live).unwrap().is_empty());
        let evicted = limit(2, WhenFull::EvictOldest).make_room(&rows(now), &live).unwrap();
        assert_eq!(evicted, ["a", "b"], "oldest first, ties by key");
        let evicted = limit(1, WhenFull::EvictOldest).make_room(&rows(now), &live).unwrap();
        assert_eq!(evicted, ["a", "b", "c"]);
    }

    #[test]
    fn a_full_refusing_limit_refuses() {
        let now = Utc::now();
        let live = Liveness { now, created_since: None };
        let refused = limit(4, WhenFull::Refuse).make_room(&rows(now), &live);
        assert!(matches!(refused, Err(Error::TokenLimitReached)));
        assert!(limit(5, WhenFull::Refuse).make_room(&rows(now), &live).unwrap().is_empty());
    }
}
