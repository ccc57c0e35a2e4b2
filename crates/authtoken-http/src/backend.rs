//! Backends (a name, a transport and a strategy) and the ordered list they are tried in.

use std::sync::Arc;

use authtoken::refresh::RefreshTokens;
use authtoken::{AuthStrategy, SessionStrategy, User};
use http::{HeaderMap, HeaderValue};

use crate::presented::PresentedToken;
use crate::transport::Transport;

/// One way to authenticate: a transport paired with a strategy, under a name.
pub struct AuthBackend<U> {
    name: String,
    transport: Arc<dyn Transport>,
    strategy: Arc<dyn AuthStrategy<U>>,
    sessions: Option<Arc<dyn SessionStrategy<U>>>,
    refresh: Option<Arc<dyn RefreshTokens<U>>>,
    scoped_tokens_everywhere: bool,
}

impl<U: User> AuthBackend<U> {
    /// A backend called `name`, reading tokens with `transport` and checking them with `strategy`.
    pub fn new(
        name: &str,
        transport: impl Transport,
        strategy: impl AuthStrategy<U> + 'static,
    ) -> Self {
        Self::from_parts(name, Arc::new(transport), Arc::new(strategy))
    }

    /// Like [`new`](Self::new), from shared parts (one strategy behind several transports).
    pub fn from_parts(
        name: &str,
        transport: Arc<dyn Transport>,
        strategy: Arc<dyn AuthStrategy<U>>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            transport,
            strategy,
            sessions: None,
            refresh: None,
            scoped_tokens_everywhere: false,
        }
    }

    /// Serves the session routes (`GET /sessions`, `DELETE /sessions/{id}`,
    /// `POST /logout-others`) through `sessions`: usually the same strategy, shared.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use authtoken::memory::{MemoryStore, MemoryUsers};
    /// use authtoken::DatabaseStrategy;
    /// use authtoken_http::{AuthBackend, Bearer};
    /// # #[derive(Clone)] struct Account { id: u64 }
    /// # impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
    ///
    /// let users = MemoryUsers::<Account>::new();
    /// let strategy = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(3600)))
    ///     .unwrap()
    ///     .with_users(users);
    /// let strategy = Arc::new(strategy);
    /// let backend = AuthBackend::from_parts("bearer", Arc::new(Bearer), strategy.clone())
    ///     .with_sessions(strategy);
    /// assert!(backend.sessions().is_some());
    /// ```
    pub fn with_sessions(mut self, sessions: impl SessionStrategy<U> + 'static) -> Self {
        self.sessions = Some(Arc::new(sessions));
        self
    }

    /// Issues refresh tokens with every login (`POST /refresh` then rotates them; logouts and
    /// the session routes end their families). `tokens` is usually a
    /// [`RefreshStrategy`](authtoken::refresh::RefreshStrategy) over the same access store as
    /// this backend's strategy, with the same lifetime (where the table has the API-token
    /// columns, each access token also carries its own expiry, which every reader honours).
    /// Without it logins issue one token, as before.
    ///
    /// ```
    /// use std::time::Duration;
    /// use authtoken::memory::{MemoryStore, MemoryUsers};
    /// use authtoken::refresh::{MemoryRefreshStore, RefreshPolicy, RefreshStrategy};
    /// use authtoken::DatabaseStrategy;
    /// use authtoken_http::{AuthBackend, Bearer};
    /// # #[derive(Clone)] struct Account { id: u64 }
    /// # impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
    ///
    /// let store = MemoryStore::<u64>::new(); // clones share the rows
    /// let access = || DatabaseStrategy::new(store.clone(), Some(Duration::from_secs(900)));
    /// let refresh =
    ///     RefreshStrategy::new(access()?, MemoryRefreshStore::new(), RefreshPolicy::default())?;
    /// let backend = AuthBackend::new("bearer", Bearer, access()?.with_users(MemoryUsers::<Account>::new()))
    ///     .with_refresh(refresh);
    /// assert!(backend.refresh().is_some());
    /// # Ok::<(), authtoken::Error>(())
    /// ```
    pub fn with_refresh(mut self, tokens: impl RefreshTokens<U> + 'static) -> Self {
        self.refresh = Some(Arc::new(tokens));
        self
    }

    /// What issues and rotates refresh tokens, if this backend does.
    pub fn refresh(&self) -> Option<&dyn RefreshTokens<U>> {
        self.refresh.as_deref()
    }

    /// What the session routes go through, if this backend serves them.
    pub fn sessions(&self) -> Option<&dyn SessionStrategy<U>> {
        self.sessions.as_deref()
    }

    /// Lets tokens with scopes (API tokens) through routes that declare no scope too, as full
    /// sessions. Without it such a token is refused (403 `SCOPED_TOKEN_NOT_ALLOWED`) everywhere
    /// but on the routes that name their scopes (the adapters' `Scoped` extractors; `AnyScope`
    /// for a route any token may use): a token issued to "read" must not log its user out
    /// everywhere or act as them on every route.
    pub fn accepting_scoped_tokens(mut self) -> Self {
        self.scoped_tokens_everywhere = true;
        self
    }

    /// The backend's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the backend reads tokens and how it answers.
    pub fn transport(&self) -> &dyn Transport {
        &*self.transport
    }

    /// What the backend checks tokens with.
    pub fn strategy(&self) -> &dyn AuthStrategy<U> {
        &*self.strategy
    }

    /// The user this backend's token in `headers` authenticates, with the token and its scopes.
    async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> authtoken::Result<Option<(U, PresentedToken, Vec<String>)>> {
        let Some(token) = self.transport.token(headers) else {
            return Ok(None);
        };
        let found = self.strategy.read(token.expose_secret()).await?;
        Ok(found.map(|(user, row)| (user, token, row.details.scopes)))
    }
}

/// A configuration mistake found at start-up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Two backends share a name; routes and logs could not tell them apart.
    #[error("two authentication backends are named `{0}`")]
    DuplicateBackend(String),
    /// No backend was given.
    #[error("at least one authentication backend is needed")]
    NoBackend,
    /// A router was asked for a backend that does not exist.
    #[error("no authentication backend is named `{0}`")]
    UnknownBackend(String),
    /// A backend issues refresh tokens into a cookie whose path is not set: set
    /// [`Cookie::refresh_path`](crate::Cookie::refresh_path) to the refresh route's path.
    #[error(
        "backend `{0}` keeps refresh tokens in a cookie: set its refresh_path to the refresh route's path"
    )]
    RefreshPath(String),
}

/// Who a request is, and how it proved it.
#[derive(Clone, Debug)]
pub struct Authenticated<U> {
    /// The user.
    pub user: U,
    /// The token the request carried (its `Debug` is redacted).
    pub token: PresentedToken,
    /// The index of the backend that accepted it.
    pub backend: usize,
    /// The token's scopes (empty for a login session; see [`Scopes`](crate::Scopes)).
    pub scopes: Vec<String>,
}

/// The backends, tried in order; the first that yields a user wins. Cheap to clone.
pub struct Authenticator<U> {
    backends: Arc<[AuthBackend<U>]>,
}

impl<U> Clone for Authenticator<U> {
    fn clone(&self) -> Self {
        Self { backends: Arc::clone(&self.backends) }
    }
}

impl<U: User + 'static> Authenticator<U> {
    /// Checks the list: at least one backend, no two with one name.
    pub fn new(backends: Vec<AuthBackend<U>>) -> Result<Self, ConfigError> {
        if backends.is_empty() {
            return Err(ConfigError::NoBackend);
        }
        for (i, backend) in backends.iter().enumerate() {
            if backends[..i].iter().any(|earlier| earlier.name == backend.name) {
                return Err(ConfigError::DuplicateBackend(backend.name.clone()));
            }
        }
        Ok(Self { backends: backends.into() })
    }

    /// The index of the backend called `name`.
    pub fn index_of(&self, name: &str) -> Result<usize, ConfigError> {
        self.backends
            .iter()
            .position(|backend| backend.name == name)
            .ok_or_else(|| ConfigError::UnknownBackend(name.to_owned()))
    }

    /// The backend at `index` (from [`index_of`](Self::index_of) or [`Authenticated::backend`]).
    ///
    /// # Panics
    /// If there is no backend at `index`.
    pub fn backend(&self, index: usize) -> &AuthBackend<U> {
        &self.backends[index]
    }

    /// The backends, in the order they are tried.
    pub fn backends(&self) -> &[AuthBackend<U>] {
        &self.backends
    }

    /// The `WWW-Authenticate` challenges of the backends' transports for this request, each
    /// once: what a 401 to it carries. Empty when no transport has a scheme (cookies only).
    pub fn challenges(&self, headers: &HeaderMap) -> Vec<HeaderValue> {
        let mut challenges: Vec<HeaderValue> = Vec::new();
        for challenge in self.backends.iter().filter_map(|b| b.transport.challenge(headers)) {
            if !challenges.contains(&challenge) {
                challenges.push(challenge);
            }
        }
        challenges
    }

    /// `Err(ScopedToken)` for a token with scopes on a route that declares none, unless its
    /// backend accepts scoped tokens everywhere ([`AuthBackend::accepting_scoped_tokens`]).
    pub fn check_unscoped_route(
        &self,
        found: &Authenticated<U>,
    ) -> Result<(), crate::AuthRejection> {
        let backend = &self.backends[found.backend];
        if found.scopes.is_empty() || backend.scoped_tokens_everywhere {
            Ok(())
        } else {
            Err(crate::AuthRejection::ScopedToken)
        }
    }

    /// The first backend whose transport finds a token and whose strategy accepts it.
    ///
    /// A strategy's failure is an error at once: trying the next backend could let an outage
    /// pass for "not authenticated".
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> authtoken::Result<Option<Authenticated<U>>> {
        for index in 0..self.backends.len() {
            if let Some(found) = self.authenticate_with(index, headers).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// [`authenticate`](Self::authenticate) with the backend at `index` only.
    pub async fn authenticate_with(
        &self,
        index: usize,
        headers: &HeaderMap,
    ) -> authtoken::Result<Option<Authenticated<U>>> {
        let found = self.backends[index].authenticate(headers).await?;
        Ok(found.map(|(user, token, scopes)| Authenticated { user, token, backend: index, scopes }))
    }
}
