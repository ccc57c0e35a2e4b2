//! The one error type of every strategy, store and loader call.

/// A boxed error from a storage backend or a user loader.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong. "Not authenticated" is never an error: it is `Ok(None)`.
///
/// A failing database is always `Err`, so an outage can neither log everyone out silently nor
/// let anyone in.
///
/// A wrapped cause is printed once, in the message (`token storage failed: <the driver's
/// error>`), and is not repeated as [`source`](std::error::Error::source): a chain walker
/// (anyhow, eyre, a log formatter) prints it once. [`Error::cause`] hands it out for
/// inspection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage backend failed (connection lost, timeout, missing table, ...).
    #[error("token storage failed: {0}")]
    Store(BoxError),
    /// A row with this token already exists; a token is never overwritten.
    #[error("a token with this key is already stored")]
    DuplicateToken,
    /// A token row names a user that does not exist (the database's foreign key refused it).
    #[error("no such user: the token's user_id matches no user")]
    UnknownUser,
    /// The token table is missing or does not have the expected columns and types.
    #[error("the token table does not match: {0}")]
    Schema(String),
    /// The user loader failed (as opposed to answering "no such user").
    #[error("loading the user failed: {0}")]
    UserLoader(BoxError),
    /// Checking a login's credentials failed (the user lookup or the password hasher), as
    /// opposed to answering "wrong credentials".
    #[error("checking the credentials failed: {0}")]
    Credentials(BoxError),
    /// The login throttle's store failed: the login is refused, never let through unthrottled.
    #[error("the login throttle failed: {0}")]
    Throttle(BoxError),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// The user already holds as many live tokens as the strategy's per-user limit allows,
    /// and the limit refuses new ones ([`WhenFull::Refuse`](crate::limit::WhenFull::Refuse)).
    /// A refused login, not a server fault: `authtoken-http` answers it 403
    /// `LOGIN_TOKEN_LIMIT_REACHED`.
    #[error("the user already holds the most live tokens allowed")]
    TokenLimitReached,
    /// The strategy was configured in a way that cannot work.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// Read replicas that cannot keep a revoked token from being read (asynchronous standbys,
    /// a replica the primary does not wait for, one that cannot report its replay): what is
    /// missing.
    #[error("the read replicas cannot be relied on: {0}")]
    Replicas(String),
}

impl Error {
    /// Wraps a backend error as [`Error::Store`].
    pub fn store(error: impl Into<BoxError>) -> Self {
        Self::Store(error.into())
    }

    /// The backend's own error this one wraps (a store's, a loader's, a throttle's), for
    /// inspection or downcasting.
    ///
    /// ```
    /// let error = authtoken::Error::store(std::io::Error::other("disk full"));
    /// let cause = error.cause().and_then(|cause| cause.downcast_ref::<std::io::Error>());
    /// assert_eq!(cause.map(ToString::to_string).as_deref(), Some("disk full"));
    /// assert_eq!(error.to_string(), "token storage failed: disk full");
    /// assert!(std::error::Error::source(&error).is_none(), "printed once, in the message");
    /// ```
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            Self::Store(cause)
            | Self::UserLoader(cause)
            | Self::Credentials(cause)
            | Self::Throttle(cause) => Some(cause.as_ref()),
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
