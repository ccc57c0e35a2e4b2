//! The framework-neutral HTTP layer of [`authtoken`]: everything between a request's headers and
//! a handler, written once for every web framework.
//!
//! - [`Transport`]: where a token travels and how login, logout and a refusal answer. Open: the
//!   crate ships [`Bearer`], [`Cookie`] and [`Header`] (an API-key header such as `X-API-Key`),
//!   and a transport of your own is one `impl`.
//! - [`AuthBackend`] pairs a transport with an [`AuthStrategy`](authtoken::AuthStrategy) under a
//!   name; an [`Authenticator`] tries its backends in order.
//! - [`Policy`] ([`Active`], [`Verified`], [`Superuser`], [`AnyStatus`]) says what a user must be;
//!   [`AuthUser`] is what a user type tells about itself.
//! - [`AuthRoutes`] is the logic of `POST /login`, `/logout` and `/logout-all`, given a
//!   [`Credentials`] check, with a [`LoginThrottle`] before it and the cross-site check
//!   ([`SameOrigin`]) on cookie backends; the session routes; and `POST /refresh` for a backend
//!   that issues refresh tokens ([`AuthBackend::with_refresh`]).
//!
//! Requests come in as [`http::HeaderMap`]s and answers go out as [`AuthResponse`]s
//! (`http::Response<Vec<u8>>`); the adapters (`authtoken-axum`, `authtoken-actix`) only map
//! these to their framework's types.
//!
//! ```
//! use std::time::Duration;
//! use authtoken::memory::{MemoryStore, MemoryUsers};
//! use authtoken::DatabaseStrategy;
//! use authtoken_http::{AuthBackend, AuthUser, Authenticator, Bearer, Header};
//! use http::HeaderMap;
//!
//! #[derive(Clone)]
//! struct Account { id: u64 }
//! impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
//! impl AuthUser for Account { fn is_active(&self) -> bool { true } }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let users = MemoryUsers::new();
//! users.insert(Account { id: 1 });
//! let strategy = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(3600)))?;
//! let auth = Authenticator::new(vec![
//!     AuthBackend::new("bearer", Bearer, strategy.with_users(users.clone())),
//!     AuthBackend::new("api-key", Header::new("x-api-key")?, DatabaseStrategy::new(MemoryStore::new(), None)?.with_users(users)),
//! ])?;
//!
//! let token = auth.backend(1).strategy().write(&Account { id: 1 }).await?;
//! let mut headers = HeaderMap::new();
//! headers.insert("x-api-key", token.expose_secret().parse()?);
//! let found = auth.authenticate(&headers).await?.expect("a user");
//! assert_eq!((found.user.id, auth.backend(found.backend).name()), (1, "api-key"));
//! # Ok(())
//! # }
//! ```
//!
//! Failures of the token store are 500s, never 401s: an outage cannot pass for a logout.

mod admit;
mod backend;
mod client_address;
mod csrf;
pub mod openapi;
mod policy;
mod presented;
mod refresh_cookie;
mod refresh_routes;
mod rejection;
mod response;
mod routes;
mod scopes;
mod session_routes;
mod throttle;
mod transport;
mod user;

pub use admit::RequestMemo;
pub use authtoken::throttle::ThrottlePolicy;
pub use backend::{AuthBackend, Authenticated, Authenticator, ConfigError};
pub use csrf::SameOrigin;
pub use policy::{Active, AnyStatus, Policy, Superuser, Verified};
pub use presented::PresentedToken;
pub use refresh_cookie::RefreshCookie;
pub use refresh_routes::RefreshRequest;
pub use rejection::AuthRejection;
pub use response::{AuthResponse, detail};
pub use routes::{AuthRoutes, Credentials, LoginRequest, MAX_LOGIN_BODY};
pub use scopes::{AnyScope, Scopes};
pub use throttle::{LoginThrottle, MAX_THROTTLE_KEYS, MemoryThrottle, Reservation, ThrottleKey};
pub use transport::{Bearer, Cookie, Header, SameSite, Transport};
pub use user::AuthUser;
