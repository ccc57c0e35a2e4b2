//! [`RefreshStrategy`]: a login issues an access token and a refresh token; refreshing spends the
//! refresh token for a new pair; a spent one presented again ends the whole family.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};

use super::store::{RefreshRow, RefreshStore};
use crate::token::is_well_formed;
use crate::{
    AccessTokenStore, DatabaseStrategy, Error, IssueOptions, PlaintextToken, Result, SessionId,
    User,
};

/// How long refresh tokens and their families live.
///
/// ```
/// use std::time::Duration;
/// use authtoken::refresh::RefreshPolicy;
///
/// let day = Duration::from_secs(86_400);
/// let policy = RefreshPolicy::new(14 * day, 90 * day)?.with_grace(Duration::from_secs(10))?;
/// assert_eq!(policy.grace(), Duration::from_secs(10));
/// # Ok::<(), authtoken::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    idle: Duration,
    max_age: Duration,
    grace: Duration,
}

impl RefreshPolicy {
    /// A refresh token not used within `idle` expires (each refresh starts a new one); a family
    /// (one login) ends `max_age` after the login however often it refreshes. The grace window
    /// is 5 seconds ([`with_grace`](Self::with_grace)).
    pub fn new(idle: Duration, max_age: Duration) -> Result<Self> {
        if idle.is_zero() || max_age < idle {
            return Err(Error::Config(
                "a refresh policy needs an idle timeout above zero and a family lifetime at least as long",
            ));
        }
        Ok(Self { idle, max_age, grace: Duration::from_secs(5) })
    }

    /// How long after a refresh the spent token may be presented again without ending its
    /// family (a client that retried a request whose answer it lost): such a retry is refused,
    /// nothing more. Past it, a spent token is a stolen one. Shorter than the idle timeout.
    pub fn with_grace(mut self, grace: Duration) -> Result<Self> {
        if grace >= self.idle {
            return Err(Error::Config("the grace window must be shorter than the idle timeout"));
        }
        self.grace = grace;
        Ok(self)
    }

    /// The idle timeout.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// The family's absolute lifetime.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The grace window.
    pub fn grace(&self) -> Duration {
        self.grace
    }
}

impl Default for RefreshPolicy {
    /// 14 days idle, 90 days in all, 5 seconds of grace.
    fn default() -> Self {
        let day = Duration::from_secs(86_400);
        Self { idle: 14 * day, max_age: 90 * day, grace: Duration::from_secs(5) }
    }
}

/// What a login or a refresh hands the client: shown once, never stored in the clear.
#[derive(Debug)]
pub struct TokenPair {
    /// The new access token.
    pub access_token: PlaintextToken,
    /// The new refresh token.
    pub refresh_token: PlaintextToken,
    /// The family (login) both belong to: public, safe to log.
    pub family: String,
    /// How long the access token lives.
    pub expires_in: Duration,
}

/// Why a refresh was refused. Each is "not authenticated" to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshRefusal {
    /// Not a refresh token, or one of an ended family.
    Unknown,
    /// Past its idle timeout, or its family past its lifetime.
    Expired,
    /// Spent a moment ago (within the grace window): a retry, refused without consequence.
    Retried,
    /// Spent before the grace window: a stolen token. Its family was ended.
    Reused,
}

/// The outcome of [`RefreshStrategy::refresh`].
#[derive(Debug)]
pub enum Refreshed {
    /// The presented token is spent; here is the next pair.
    Rotated(TokenPair),
    /// Refused, and why.
    Refused(RefreshRefusal),
}

/// Access tokens with refresh tokens: rotation on every use, reuse detection (RFC 9700,
/// refresh token rotation).
///
/// The access tokens are ordinary tokens of `access` (short-lived: give it a lifetime of
/// minutes); every read, cache and revocation works on them as before. Each login starts a
/// *family* in `refresh`: the login's refresh token and every one rotated from it. Refreshing
/// spends the presented token and returns a new pair; a spent token presented again after the
/// grace window ends the family, revoking every access token issued in it (through the access
/// store's delete, so every cache hears of it).
///
/// ```
/// # async fn run() -> authtoken::Result<()> {
/// use std::time::Duration;
/// use authtoken::memory::MemoryStore;
/// use authtoken::refresh::{MemoryRefreshStore, RefreshPolicy, RefreshRefusal, RefreshStrategy, Refreshed};
/// use authtoken::{DatabaseStrategy, User};
///
/// struct Alice;
/// impl User for Alice {
///     type Id = u64;
///     fn id(&self) -> &u64 { &1 }
/// }
///
/// let access = DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(900)))?;
/// let tokens = RefreshStrategy::new(access, MemoryRefreshStore::new(), RefreshPolicy::default())?;
/// let login = tokens.login(&Alice).await?;
/// let Refreshed::Rotated(next) = tokens.refresh(login.refresh_token.expose_secret()).await? else {
///     panic!("a fresh refresh token rotates");
/// };
/// // The first refresh token is spent: presented again (here within the grace window), refused.
/// let again = tokens.refresh(login.refresh_token.expose_secret()).await?;
/// assert!(matches!(again, Refreshed::Refused(RefreshRefusal::Retried)));
/// assert!(tokens.access().read_token_row(next.access_token.expose_secret()).await?.is_some());
/// # Ok(()) }
/// ```
pub struct RefreshStrategy<S: AccessTokenStore, R> {
    pub(super) access: DatabaseStrategy<S>,
    pub(super) refresh: R,
    policy: RefreshPolicy,
}

impl<S, R> RefreshStrategy<S, R>
where
    S: AccessTokenStore,
    R: RefreshStore<UserId = S::UserId>,
{
    /// Refresh tokens in `refresh` beside the access tokens of `access`, which must expire (a
    /// refresh scheme with everlasting access tokens is a configuration error).
    pub fn new(access: DatabaseStrategy<S>, refresh: R, policy: RefreshPolicy) -> Result<Self> {
        if access.lifetime().is_none() {
            return Err(Error::Config(
                "refresh tokens need access tokens that expire: give the strategy a lifetime",
            ));
        }
        Ok(Self { access, refresh, policy })
    }

    /// The access tokens' strategy (reads, logouts, sessions).
    pub fn access(&self) -> &DatabaseStrategy<S> {
        &self.access
    }

    /// The refresh tokens' store.
    pub fn refresh_store(&self) -> &R {
        &self.refresh
    }

    /// The policy.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.policy
    }

    /// A login: an access token and the first refresh token of a new family.
    pub async fn login<U: User<Id = S::UserId>>(&self, user: &U) -> Result<TokenPair> {
        self.login_with(user, &IssueOptions::new()).await
    }

    /// [`login`](Self::login) with the access token's options (the client it is issued to,
    /// which the sessions page shows).
    pub async fn login_with<U: User<Id = S::UserId>>(
        &self,
        user: &U,
        options: &IssueOptions,
    ) -> Result<TokenPair> {
        let family = new_family_id()?;
        let options = self.access_options(options);
        let (access_token, access_key) = self.access.issue_keyed(user.id(), &options).await?;
        let now = self.row_time(self.access.now());
        let mut first = RefreshRow {
            key: String::new(),
            family: family.clone(),
            user_id: user.id().clone(),
            family_started_at: now,
            issued_at: now,
            access_key: access_key.clone(),
            spent_at: None,
        };
        let refresh_token = self.mint_refresh(&mut first)?;
        if let Err(error) = self.refresh.start_family(first).await {
            // No family, no login: the access token goes too (best effort; it expires anyway).
            let _ = self.access.store().delete(&access_key, user.id()).await;
            return Err(error);
        }
        Ok(TokenPair { access_token, refresh_token, family, expires_in: self.access_lifetime() })
    }

    /// Spends `presented` for a new pair. Refused (never an error) for a malformed, unknown,
    /// expired or spent token; a spent one presented after the grace window ends its family. A
    /// store failure is an error: the token is then neither spent nor refused for good.
    ///
    /// Of concurrent refreshes with one token, exactly one rotates; the others are refused as
    /// retries (within the grace window), and no second live token appears in the family.
    pub async fn refresh(&self, presented: &str) -> Result<Refreshed> {
        self.refresh_with(presented, &IssueOptions::new()).await
    }

    /// [`refresh`](Self::refresh) with the new access token's options (the client refreshing).
    pub async fn refresh_with(&self, presented: &str, options: &IssueOptions) -> Result<Refreshed> {
        if !is_well_formed(presented) {
            return Ok(Refreshed::Refused(RefreshRefusal::Unknown));
        }
        let Some((key, row)) = self.find_refresh(presented).await? else {
            return Ok(Refreshed::Refused(RefreshRefusal::Unknown));
        };
        let now = self.access.now();
        if let Some(spent_at) = row.spent_at {
            return self.spent(&row, spent_at, now).await;
        }
        if self.expired(&row, now) {
            return Ok(Refreshed::Refused(RefreshRefusal::Expired));
        }
        // The access token exists before the rotation that hands it out: a family ended at any
        // moment after the rotation finds it among the family's rows.
        let options = self.access_options(options);
        let (access_token, access_key) = self.access.issue_keyed(&row.user_id, &options).await?;
        let mut next = RefreshRow {
            key: String::new(),
            family: row.family.clone(),
            user_id: row.user_id.clone(),
            family_started_at: row.family_started_at,
            issued_at: self.row_time(now),
            access_key: access_key.clone(),
            spent_at: None,
        };
        let refresh_token = self.mint_refresh(&mut next)?;
        let rotated = self.refresh.rotate(&key, now, next).await;
        if !matches!(rotated, Ok(true)) {
            // Never handed out: another request spent the token first, the family ended, or
            // the store failed.
            self.access.store().delete(&access_key, &row.user_id).await?;
        }
        match rotated? {
            true => Ok(Refreshed::Rotated(TokenPair {
                access_token,
                refresh_token,
                family: row.family,
                expires_in: self.access_lifetime(),
            })),
            false => match self.refresh.get(&key).await? {
                Some(row) => match row.spent_at {
                    Some(spent_at) => self.spent(&row, spent_at, now).await,
                    None => Ok(Refreshed::Refused(RefreshRefusal::Unknown)),
                },
                None => Ok(Refreshed::Refused(RefreshRefusal::Unknown)),
            },
        }
    }

    /// Ends `family` (a login and every refresh since): its refresh tokens stop working and its
    /// access tokens are revoked. Returns how many access tokens were still there to revoke.
    pub async fn end_family(&self, family: &str) -> Result<u64> {
        let rows = self.refresh.end_family(family).await?;
        let mut revoked = 0;
        for row in &rows {
            revoked += u64::from(self.access.store().delete(&row.access_key, &row.user_id).await?);
        }
        Ok(revoked)
    }

    /// Logs out the session of `access_token`: its family ends (every access and refresh token
    /// of that login), or, for a token issued without a refresh token, the token alone. `false`
    /// when `user` holds no such token.
    pub async fn logout<U: User<Id = S::UserId>>(
        &self,
        access_token: &str,
        user: &U,
    ) -> Result<bool> {
        let family = self.family_of(access_token).await?;
        if !self.access.destroy_token(access_token, user).await? {
            return Ok(false);
        }
        if let Some(family) = family {
            self.end_family(&family).await?;
        }
        Ok(true)
    }

    /// Ends every family of `user_id` ("log out everywhere" with refresh tokens: without it a
    /// refresh token would mint access tokens again). Returns how many access tokens went.
    pub async fn end_all(&self, user_id: &S::UserId) -> Result<u64> {
        let rows = self.refresh.user_rows(user_id).await?;
        self.end_families(rows.iter().map(|row| row.family.as_str())).await
    }

    /// Ends the family that the session `session` (a [`SessionId`] of one of its access
    /// tokens) belongs to, if it is one of `user_id`'s; `false` when no family of theirs holds
    /// it (an access token issued without a refresh token, another user's, or none).
    pub async fn end_session(&self, user_id: &S::UserId, session: &str) -> Result<bool> {
        let rows = self.refresh.user_rows(user_id).await?;
        let Some(row) =
            rows.iter().find(|row| SessionId::of_key(&row.access_key).as_str() == session)
        else {
            return Ok(false);
        };
        self.end_family(&row.family).await?;
        Ok(true)
    }

    /// Ends every family of `user_id` but the one `access_token` was issued in ("log out my
    /// other sessions"). Returns how many access tokens went.
    pub async fn end_others(&self, user_id: &S::UserId, access_token: &str) -> Result<u64> {
        let current = self.family_of(access_token).await?;
        let rows = self.refresh.user_rows(user_id).await?;
        let others = rows.iter().map(|row| row.family.as_str());
        self.end_families(others.filter(|family| Some(*family) != current.as_deref())).await
    }

    /// The family `access_token` was issued in, if any.
    async fn family_of(&self, access_token: &str) -> Result<Option<String>> {
        let Ok(token) = self.access.shape(Some(access_token)) else {
            return Ok(None);
        };
        for key in self.access.stored_keys(token) {
            if let Some(family) = self.refresh.family_of_access(key.as_str()).await? {
                return Ok(Some(family));
            }
        }
        Ok(None)
    }

    /// Ends each distinct family of `families`.
    async fn end_families<'a>(&self, families: impl Iterator<Item = &'a str>) -> Result<u64> {
        let mut distinct: Vec<&str> = families.collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut revoked = 0;
        for family in distinct {
            revoked += self.end_family(family).await?;
        }
        Ok(revoked)
    }

    /// A spent token presented again: a retry within the grace window, a theft after it.
    async fn spent(
        &self,
        row: &RefreshRow<S::UserId>,
        spent_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Refreshed> {
        let grace = TimeDelta::from_std(self.policy.grace).unwrap_or(TimeDelta::MAX);
        if now.signed_duration_since(spent_at) <= grace {
            return Ok(Refreshed::Refused(RefreshRefusal::Retried));
        }
        tracing::warn!(
            target: "authtoken::security",
            family = %row.family,
            user_id = ?row.user_id,
            "a spent refresh token was presented again: its family is ended"
        );
        self.end_family(&row.family).await?;
        Ok(Refreshed::Refused(RefreshRefusal::Reused))
    }

    fn expired(&self, row: &RefreshRow<S::UserId>, now: DateTime<Utc>) -> bool {
        let after = |from: DateTime<Utc>, span: Duration| {
            TimeDelta::from_std(span)
                .ok()
                .and_then(|span| from.checked_add_signed(span))
                .is_some_and(|end| end <= now)
        };
        after(row.issued_at, self.policy.idle) || after(row.family_started_at, self.policy.max_age)
    }

    /// An access token's options: on a store with `expires_at`, the token carries its own
    /// short expiry, so that a backend reading the same table with a longer lifetime (a cookie
    /// backend of an hour, say) still ends it on time.
    fn access_options(&self, options: &IssueOptions) -> IssueOptions {
        let mut options = options.clone();
        if options.lifetime.is_none() && self.access.store().columns().expires_at {
            options = options.lifetime(self.access_lifetime());
        }
        options
    }

    fn access_lifetime(&self) -> Duration {
        self.access.lifetime().and_then(|l| l.to_std().ok()).unwrap_or_default()
    }
}

impl<S: AccessTokenStore, R> std::fmt::Debug for RefreshStrategy<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshStrategy").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// A new family id: 16 random bytes, base64url (22 characters).
fn new_family_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
