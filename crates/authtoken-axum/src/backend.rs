//! Backends (a name, a transport and a strategy) and the list they are tried in.

use std::sync::Arc;

use axum::http::request::Parts;

use crate::transport::Transport;
use authtoken::AuthStrategy;

/// One way to authenticate: a transport paired with a strategy, under a name.
pub struct AuthBackend<U> {
    pub(crate) name: String,
    pub(crate) transport: Transport,
    pub(crate) strategy: Arc<dyn AuthStrategy<U>>,
}

impl<U: authtoken::User> AuthBackend<U> {
    /// A backend called `name`, reading tokens with `transport` and checking them with `strategy`.
    pub fn new(name: &str, transport: Transport, strategy: impl AuthStrategy<U> + 'static) -> Self {
        Self { name: name.to_owned(), transport, strategy: Arc::new(strategy) }
    }

    /// The backend's name.
    pub fn name(&self) -> &str {
        &self.name
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

/// Who a request is, and how it proved it.
pub struct Authenticated<U> {
    /// The user.
    pub user: U,
    /// The token the request carried.
    pub token: String,
    /// Which backend accepted it.
    pub backend: usize,
}

impl<U: authtoken::User + 'static> Authenticator<U> {
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

    pub(crate) fn index_of(&self, name: &str) -> Result<usize, ConfigError> {
        self.backends
            .iter()
            .position(|backend| backend.name == name)
            .ok_or_else(|| ConfigError::UnknownBackend(name.to_owned()))
    }

    pub(crate) fn backend(&self, index: usize) -> &AuthBackend<U> {
        &self.backends[index]
    }

    /// The first backend whose transport finds a token and whose strategy accepts it.
    ///
    /// A strategy's failure is an error at once: trying the next backend could let an outage
    /// pass for "not authenticated".
    pub async fn authenticate(&self, parts: &Parts) -> authtoken::Result<Option<Authenticated<U>>> {
        for index in 0..self.backends.len() {
            if let Some(found) = self.authenticate_with(index, parts).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// [`authenticate`](Self::authenticate) with one backend only.
    pub(crate) async fn authenticate_with(
        &self,
        index: usize,
        parts: &Parts,
    ) -> authtoken::Result<Option<Authenticated<U>>> {
        let backend = &self.backends[index];
        let Some(token) = backend.transport.token(parts) else {
            return Ok(None);
        };
        let user = backend.strategy.read(&token).await?;
        Ok(user.map(|user| Authenticated { user, token, backend: index }))
    }
}
