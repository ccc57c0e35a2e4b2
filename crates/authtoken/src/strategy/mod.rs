//! The policy: how a token is issued, read back into a user, and revoked.

mod config;
mod operator;
mod read;
mod revoke;
mod sessions;
mod soundness;
mod write;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::limit::LimitTokens;
use crate::limit::{Liveness, TokenLimit};
use crate::store::{AccessToken, AccessTokenStore};
use crate::token::{StorageMode, TokenFormat};
use crate::{Clock, Error, HashKeys, Result, SystemClock};

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
/// let (user, _row) = strategy.read_token(token.expose_secret(), &users).await?.expect("live");
/// assert_eq!(user.email, "alice@example.com");
///
/// // Logout: the token stops working.
/// assert!(strategy.destroy_token(token.expose_secret(), &alice).await?);
/// assert!(strategy.read_token(token.expose_secret(), &users).await?.is_none());
/// # Ok(())
/// # }
/// ```
pub struct DatabaseStrategy<S: AccessTokenStore> {
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

/// [`LimitTokens::create_within_limit`] of a store type, as a plain function: captured where the
/// store is known to be [`LimitTokens`], so that the strategy's other methods need no such bound.
type LimitedCreate<S> = for<'a> fn(
    &'a S,
    AccessToken<<S as AccessTokenStore>::UserId>,
    Option<DateTime<Utc>>,
    TokenLimit,
    Liveness,
) -> LimitedFuture<'a>;

fn limited_create<S: LimitTokens>(
    store: &S,
    row: AccessToken<S::UserId>,
    expires_at: Option<DateTime<Utc>>,
    limit: TokenLimit,
    live: Liveness,
) -> LimitedFuture<'_> {
    Box::pin(store.create_within_limit(row, expires_at, limit, live))
}

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// A strategy over `store` whose tokens live for `lifetime` (`None`: they never expire),
    /// hashed at rest, on the system clock.
    ///
    /// A zero lifetime is an [`Error::Config`]: it would make every token expire at birth
    /// ("forever" is spelled `None`); so is one over [`MAX_LIFETIME`].
    pub fn new(store: S, lifetime: Option<Duration>) -> Result<Self> {
        let lifetime = lifetime.map(checked_lifetime).transpose()?;
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

    /// The format tokens are issued in.
    pub fn token_format(&self) -> &TokenFormat {
        &self.format
    }

    /// Now on the strategy's clock, in whole microseconds: PostgreSQL and MySQL keep no finer,
    /// and a boundary computed from a finer `now` would disagree with a stored time by the
    /// truncated nanoseconds.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
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

impl<S: AccessTokenStore> std::fmt::Debug for DatabaseStrategy<S> {
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
