//! The policy: how a token is issued, read back into a user, and revoked.

use std::any::Any;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::issue::IssueOptions;
use crate::limit::{Liveness, TokenLimit};
use crate::observe::{Operation, Outcome};
use crate::row_binding::BoundExpiry;
use crate::store::{
    AccessToken, AccessTokenStore, AccessTokenUserStore, LimitTokens, PurgeExpired, TokenDetails,
    TokenUse,
};
use crate::token::{PlaintextToken, StorageMode, StoredKey, TokenFormat, is_well_formed};
use crate::{Clock, Error, HashKeys, Result, SystemClock, User, UserLoader};

/// The longest lifetime accepted: past it, `now - lifetime` leaves the calendar that databases
/// and `chrono` can hold.
pub const MAX_LIFETIME: Duration = Duration::from_secs(1000 * 365 * 24 * 3600);

/// What [`DatabaseStrategy::inspect_token`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStatus<Id> {
    /// Not the shape of a token; the store was not asked.
    Malformed,
    /// Well-formed, but no row holds it (never issued, revoked, or purged).
    Unknown,
    /// Its row is older than the lifetime.
    Expired(AccessToken<Id>),
    /// Live: `read_token` would load this row's user.
    Valid(AccessToken<Id>),
    /// Its row was written by hand: dated in the future, or (with bound rows) not matching the
    /// token's tag. Never accepted.
    Tampered(AccessToken<Id>),
}

/// Tokens kept as rows in a store: the "database strategy".
///
/// ```
/// use std::time::Duration;
/// use authtoken::memory::{MemoryStore, MemoryUsers};
/// use authtoken::{DatabaseStrategy, User};
///
/// #[derive(Clone)]
/// struct Account { id: u64, email: String }
///
/// impl User for Account {
///     type Id = u64;
///     fn id(&self) -> &u64 { &self.id }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> authtoken::Result<()> {
/// let users = MemoryUsers::new();
/// let alice = Account { id: 1, email: "alice@example.com".into() };
/// users.insert(alice.clone());
///
/// let strategy = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(3600)))?;
///
/// // Login: the plaintext goes to the client once; the store keeps only its hash.
/// let token = strategy.write_token(&alice).await?;
///
/// // Every later request: the token the client presents turns back into the user.
/// let user = strategy.read_token(Some(token.expose_secret()), &users).await?;
/// assert_eq!(user.map(|u| u.email), Some("alice@example.com".to_owned()));
///
/// // Logout: the token stops working.
/// assert!(strategy.destroy_token(token.expose_secret(), &alice).await?);
/// assert!(strategy.read_token(Some(token.expose_secret()), &users).await?.is_none());
/// # Ok(())
/// # }
/// ```
pub struct DatabaseStrategy<S> {
    store: S,
    lifetime: Option<TimeDelta>,
    mode: StorageMode,
    format: TokenFormat,
    /// With last-use tracking: at most one `last_used_at` write per token per this interval.
    last_use: Option<TimeDelta>,
    /// With sliding expiry: (idle, cap). A use moves the expiry to `idle` after it, never past
    /// `cap` after creation.
    sliding: Option<(TimeDelta, TimeDelta)>,
    hash_keys: Option<HashKeys>,
    /// Whether tokens carry a MAC of their row's fields when there are keys (see
    /// [`with_hash_keys`](Self::with_hash_keys)).
    bound_rows: bool,
    clock: Arc<dyn Clock>,
    /// With a per-user limit: the limit, and the store's limited insert (captured where the
    /// store is known to be [`LimitTokens`], so that every issue can use it).
    limit: Option<(TokenLimit, LimitedCreate<S>)>,
}

/// A boxed future of a limited insert.
type LimitedFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>>> + Send + 'a>>;

/// [`LimitTokens::create_within_limit`] of a store type, as a plain function. The row travels
/// as `Any` so that the strategy's type needs no bound to hold it (it is always the store's
/// `AccessToken<S::UserId>`).
type LimitedCreate<S> = for<'a> fn(
    &'a S,
    Box<dyn Any + Send>,
    Option<DateTime<Utc>>,
    TokenLimit,
    Liveness,
) -> LimitedFuture<'a>;

fn limited_create<S: LimitTokens>(
    store: &S,
    row: Box<dyn Any + Send>,
    expires_at: Option<DateTime<Utc>>,
    limit: TokenLimit,
    live: Liveness,
) -> LimitedFuture<'_> {
    match row.downcast::<AccessToken<S::UserId>>() {
        Ok(row) => Box::pin(store.create_within_limit(*row, expires_at, limit, live)),
        Err(_) => Box::pin(std::future::ready(Err(Error::Config(
            "a per-user limit set for another store type",
        )))),
    }
}

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// A strategy over `store` whose tokens live for `lifetime` (`None`: they never expire),
    /// hashed at rest, on the system clock.
    ///
    /// A zero lifetime is an [`Error::Config`]: it would make every token expire at birth
    /// ("forever" is spelled `None`); so is one over [`MAX_LIFETIME`].
    pub fn new(mut store: S, lifetime: Option<Duration>) -> Result<Self> {
        let lifetime = lifetime.map(checked_lifetime).transpose()?;
        store.use_storage_mode(StorageMode::default());
        store.use_lifetime(lifetime);
        Ok(Self {
            store,
            lifetime,
            mode: StorageMode::default(),
            format: TokenFormat::default(),
            last_use: None,
            sliding: None,
            hash_keys: None,
            bound_rows: true,
            clock: Arc::new(SystemClock),
            limit: None,
        })
    }

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

    /// The expiry a use at `now` gives `row` under sliding expiry, if it moves it later.
    /// A token issued with its own expiry keeps it: only an expiry that sliding itself set (its
    /// last use, or its creation, plus `idle`; or the cap) moves.
    ///
    /// With bound rows the token's tag says it: only a session issued under sliding expiry
    /// slides. Without, an expiry near the last use (or the creation) plus `idle`, or near the cap,
    /// is taken for one sliding set.
    fn slide(
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
    async fn note_use(&self, token: &str, row: &AccessToken<S::UserId>) {
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

    /// The format tokens are issued in.
    pub fn token_format(&self) -> &TokenFormat {
        &self.format
    }

    /// A prefixed token does not fit plain storage (its row key is the bare token itself).
    fn check_format(&self) -> Result<()> {
        if self.mode == StorageMode::Plain && !self.format.is_bare() {
            return Err(Error::Config(
                "prefixed tokens are hashed at rest; plain mode stores fastapi-users' bare tokens only",
            ));
        }
        Ok(())
    }

    /// Chooses how tokens are kept in rows; see [`StorageMode`].
    pub fn with_storage_mode(mut self, mode: StorageMode) -> Self {
        self.store.use_storage_mode(mode);
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

    /// Whether tokens are bound to their rows: server keys, hashed mode, and not turned off.
    fn binding_keys(&self) -> Option<&HashKeys> {
        self.hash_keys.as_ref().filter(|_| self.bound_rows && self.mode == StorageMode::Hashed)
    }

    /// Whether `token`'s tag binds a sliding expiry (a session issued under sliding expiry) under
    /// any of the keys: the one kind of bound token whose expiry may move.
    fn is_bound_as_sliding(
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
    fn row_is_sound(
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

    /// Reads the time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The store behind the strategy.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// How long a token lives; `None` if tokens never expire.
    pub fn lifetime(&self) -> Option<TimeDelta> {
        self.lifetime
    }

    /// How tokens are kept in rows.
    pub fn storage_mode(&self) -> StorageMode {
        self.mode
    }

    /// Issues a new token for `user`: stores its row and returns the plaintext, once.
    pub async fn write_token<U: User<Id = S::UserId>>(&self, user: &U) -> Result<PlaintextToken> {
        self.issue_token(user, &IssueOptions::default()).await
    }

    /// Issues a token with [`IssueOptions`]: its own lifetime, a name, scopes (an API token for
    /// a script, beside login sessions). Each option needs its column in the store
    /// ([`AccessTokenStore::columns`]); asking for one the store would drop is an
    /// [`Error::Config`], never a silently plainer token.
    ///
    /// ```
    /// # async fn run() -> authtoken::Result<()> {
    /// use std::time::Duration;
    /// use authtoken::memory::MemoryStore;
    /// use authtoken::{DatabaseStrategy, IssueOptions, User};
    ///
    /// struct Bot { id: u64 }
    /// impl User for Bot {
    ///     type Id = u64;
    ///     fn id(&self) -> &u64 { &self.id }
    /// }
    ///
    /// let strategy = DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(3600)))?;
    /// let alice = Bot { id: 1 };
    /// let options = IssueOptions::new().name("CI").scopes(["deploy"]).lifetime(Duration::from_secs(90 * 86400));
    /// let token = strategy.issue_token(&alice, &options).await?;
    /// let row = strategy.read_token_row(Some(token.expose_secret())).await?.unwrap();
    /// assert_eq!(row.details.name.as_deref(), Some("CI"));
    /// assert_eq!(row.details.scopes, ["deploy"]);
    /// # Ok(()) }
    /// ```
    pub async fn issue_token<U: User<Id = S::UserId>>(
        &self,
        user: &U,
        options: &IssueOptions,
    ) -> Result<PlaintextToken> {
        let op = Operation::start::<S>("write_token");
        op.user(user.id());
        self.check_format()?;
        let details = self.details_for(options)?;
        // A bound row's times are whole seconds, which every store keeps exactly (a column
        // without fractions rounds, which would break the tag half the time).
        let created_at = match self.binding_keys() {
            Some(_) => self.now().trunc_subsecs(0),
            None => self.now(),
        };
        let mut row = AccessToken::new(String::new(), user.id().clone(), created_at);
        let expires_at = match options.lifetime {
            Some(lifetime) => Some(
                created_at
                    .checked_add_signed(checked_lifetime(lifetime)?)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            ),
            None => match self.sliding {
                // The first stretch of a sliding session: `idle`, within the cap.
                Some((idle, cap)) => created_at.checked_add_signed(idle.min(cap)),
                None => self.expires_at(created_at),
            },
        };
        row.details = details;
        // Only a token of its own lifetime records its expiry: a plain login follows the
        // strategy's lifetime, as it always has (change the lifetime, and sessions follow).
        if options.lifetime.is_some() || self.sliding.is_some() {
            row.details.expires_at = expires_at;
        }
        if self.binding_keys().is_some() {
            row.details.expires_at = row.details.expires_at.map(|at| at.trunc_subsecs(0));
        }
        let sliding_session = self.sliding.is_some() && options.lifetime.is_none();
        let token = self.mint_for(&row, sliding_session)?;
        let key = self.new_key(token.expose_secret());
        op.key(key.as_str(), self.mode == StorageMode::Hashed);
        row.token = key.as_str().to_owned();
        match self.limit {
            None => op.run(self.store.create(row, expires_at), |_| Outcome::Issued).await?,
            Some((limit, create)) => {
                let created =
                    create(&self.store, Box::new(row), expires_at, limit, self.liveness());
                let evicted = op.run(created, |_| Outcome::Issued).await?;
                if !evicted.is_empty() {
                    op.deleted(evicted.len() as u64);
                    tracing::debug!(
                        evicted = evicted.len(),
                        "authtoken: revoked the oldest tokens past the per-user limit"
                    );
                }
            }
        }
        Ok(token)
    }

    /// A new token: random, or with bound rows random and tagged with `row`'s fields.
    fn mint_for(&self, row: &AccessToken<S::UserId>, sliding: bool) -> Result<PlaintextToken> {
        let Some(keys) = self.binding_keys() else {
            return self.format.mint();
        };
        let mut random = [0u8; crate::row_binding::RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(|e| Error::Random(e.to_string()))?;
        let expiry = match sliding {
            true => BoundExpiry::Sliding,
            false => BoundExpiry::Fixed(row.details.expires_at),
        };
        let bytes = crate::row_binding::bound_token_bytes(keys, random, row, expiry);
        Ok(self.format.mint_from(&bytes))
    }

    /// The details a row gets for `options`, or why the store cannot keep them.
    fn details_for(&self, options: &IssueOptions) -> Result<TokenDetails> {
        let columns = self.store.columns();
        let missing = [
            (
                options.lifetime.is_some() && !columns.expires_at,
                "a token of its own lifetime needs the token table's `expires_at` column",
            ),
            (
                options.name.is_some() && !columns.name,
                "a named token needs the token table's `name` column",
            ),
            (
                !options.scopes.is_empty() && !columns.scopes,
                "a scoped token needs the token table's `scopes` column",
            ),
        ];
        if let Some((_, message)) = missing.iter().find(|(missing, _)| *missing) {
            return Err(Error::Config(message));
        }
        if !options.name_is_valid() {
            return Err(Error::Config(
                "a token's name is 1 to 255 characters without control characters",
            ));
        }
        if !options.scopes_are_valid() {
            return Err(Error::Config(
                "a scope is 1 to 128 printable ASCII characters without spaces, commas, quotes or backslashes",
            ));
        }
        Ok(TokenDetails {
            name: options.name.clone(),
            scopes: options.scopes.clone(),
            ..TokenDetails::default()
        })
    }

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
        let token = match self.shape(token) {
            Ok(token) => token,
            Err(outcome) => {
                Operation::refused_early("read_token", outcome);
                return Ok(None);
            }
        };
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
        let token = match self.shape(token) {
            Ok(token) => token,
            Err(outcome) => {
                Operation::refused_early("read_token", outcome);
                return Ok(None);
            }
        };
        let op = Operation::start::<S>("read_token");
        let work = async {
            let mut refused = Outcome::Unknown;
            for (index, key) in self.stored_keys(token).enumerate() {
                op.key(key.as_str(), self.mode == StorageMode::Hashed);
                let found = self.store.get_with_user(key.as_str(), None).await?;
                let Some((row, user)) = found.filter(|(row, _)| row.token == key.as_str()) else {
                    continue;
                };
                op.user(&row.user_id);
                let live = self.liveness();
                if !self.row_is_sound(token, index, &row, &live) {
                    break;
                }
                if !live.is_live(&row) {
                    refused = Outcome::Expired;
                    break;
                }
                self.note_use(token, &row).await;
                return Ok(user
                    .map_or(Lookup::Refused(Outcome::NoUser), |user| Lookup::Found((user, row))));
            }
            Ok(Lookup::Refused(refused))
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
        let token = match self.shape(token) {
            Ok(token) => token,
            Err(outcome) => {
                Operation::refused_early("read_token_row", outcome);
                return Ok(None);
            }
        };
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
    async fn lookup(&self, token: &str, op: &Operation) -> Result<Lookup<AccessToken<S::UserId>>> {
        for (index, key) in self.stored_keys(token).enumerate() {
            op.key(key.as_str(), self.mode == StorageMode::Hashed);
            // Expiry is checked here rather than by the store, so that an expired token is told
            // from an unknown one (the lookup is the same primary-key SELECT either way).
            let row = self.store.get(key.as_str(), None).await?;
            // Defence in depth: a store on a case-insensitive collation could match a key that
            // differs in case; only the exact key authenticates.
            let Some(row) = row.filter(|row| row.token == key.as_str()) else {
                continue;
            };
            op.user(&row.user_id);
            let live = self.liveness();
            if !self.row_is_sound(token, index, &row, &live) {
                return Ok(Lookup::Refused(Outcome::Unknown));
            }
            if !live.is_live(&row) {
                return Ok(Lookup::Refused(Outcome::Expired));
            }
            return Ok(Lookup::Found(row));
        }
        Ok(Lookup::Refused(Outcome::Unknown))
    }

    /// Whether `row` is within its lifetime now: its own `expires_at` if it carries one, else
    /// the strategy's lifetime from its creation.
    pub fn is_live(&self, row: &AccessToken<S::UserId>) -> bool {
        // A row's own expiry overrides the strategy's lifetime (a 90-day API token).
        self.liveness().is_live(row)
    }

    /// Which rows are live now.
    fn liveness(&self) -> Liveness {
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
        for (index, key) in self.stored_keys(token).enumerate() {
            let row = self.store.get(key.as_str(), None).await?;
            let Some(row) = row.filter(|row| row.token == key.as_str()) else {
                continue;
            };
            let live = self.liveness();
            if !self.row_is_sound(token, index, &row, &live) {
                return Ok(TokenStatus::Tampered(row));
            }
            let live = live.is_live(&row);
            return Ok(if live { TokenStatus::Valid(row) } else { TokenStatus::Expired(row) });
        }
        Ok(TokenStatus::Unknown)
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

    /// Revokes `token` if it belongs to `user`, expired or not; `true` if a row was deleted.
    ///
    /// Someone else's token is left alone, and a malformed or unknown token is a no-op.
    pub async fn destroy_token<U: User<Id = S::UserId>>(
        &self,
        token: &str,
        user: &U,
    ) -> Result<bool> {
        if let Err(outcome) = self.shape(Some(token)) {
            Operation::refused_early("destroy_token", outcome);
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

    /// The oldest creation time a live token may have now; `None` if tokens never expire.
    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        self.created_since(self.now())
    }

    /// The oldest creation time a live token may have at `now`.
    fn created_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.lifetime
            .map(|lifetime| now.checked_sub_signed(lifetime).unwrap_or(DateTime::<Utc>::MIN_UTC))
    }

    /// The row keys a well-formed token may be stored under.
    ///
    /// With hash keys, one per key, the current key's first: a token under the current key costs
    /// one lookup. Without, exactly one.
    fn stored_keys(&self, token: &str) -> StoredKeys {
        match (&self.hash_keys, self.mode) {
            (Some(keys), StorageMode::Hashed) => StoredKeys::Many(
                keys.digests(token).map(StoredKey::of_digest).collect::<Vec<_>>().into_iter(),
            ),
            _ => StoredKeys::One(self.mode.stored_key(token)),
        }
    }

    /// The presented token, if it has the shape of one this strategy accepts; else why it cannot
    /// be one. Checked once per call, before the store is asked.
    fn shape<'t>(&self, token: Option<&'t str>) -> Result<&'t str, Outcome> {
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

    /// The row key a newly issued token gets: under the current hash key, if there are keys.
    fn new_key(&self, token: &str) -> StoredKey {
        match (&self.hash_keys, self.mode) {
            (Some(keys), StorageMode::Hashed) => keys
                .digests(token)
                .next()
                .map_or_else(|| self.mode.stored_key(token), StoredKey::of_digest),
            _ => self.mode.stored_key(token),
        }
    }

    /// Now on the strategy's clock, in whole microseconds: PostgreSQL and MySQL keep no finer,
    /// and a boundary computed from a finer `now` would disagree with a stored time by the
    /// truncated nanoseconds.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
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
        let cutoff = self.not_before().unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
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

/// A lifetime as a `TimeDelta`: positive ("forever" is spelled `None`) and at most
/// [`MAX_LIFETIME`].
fn checked_lifetime(lifetime: Duration) -> Result<TimeDelta> {
    if lifetime.is_zero() {
        return Err(Error::Config(
            "token lifetime must be positive; use None for tokens that never expire",
        ));
    }
    if lifetime > MAX_LIFETIME {
        return Err(Error::Config(
            "token lifetime is over 1000 years; use None for tokens that never expire",
        ));
    }
    TimeDelta::from_std(lifetime)
        .map_err(|_| Error::Config("token lifetime is too large to represent"))
}

/// A row (or user) found for a presented token, or why not.
enum Lookup<T> {
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
enum StoredKeys {
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
    /// assert!(strategy.read_token_row(Some(first.expose_secret())).await?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn with_token_limit(mut self, limit: TokenLimit) -> Self {
        self.limit = Some((limit, limited_create::<S>));
        self
    }
}

impl<S> std::fmt::Debug for DatabaseStrategy<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseStrategy")
            .field("lifetime", &self.lifetime)
            .field("mode", &self.mode)
            .field("format", &self.format)
            .field("hash_keys", &self.hash_keys)
            .field("limit", &self.limit.map(|(limit, _)| limit))
            .finish_non_exhaustive()
    }
}
