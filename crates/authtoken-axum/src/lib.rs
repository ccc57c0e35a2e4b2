//! axum integration for [`authtoken`]: extractors and a router over the framework-neutral
//! [`authtoken_http`] layer.
//!
//! A backend pairs a [`Transport`] ([`Bearer`], [`Cookie`], [`Header`] or your own) with an
//! [`AuthStrategy`]; an [`Authenticator`] tries its backends in order; [`CurrentUser`] extracts
//! the user, and [`auth_router`] serves login and logout. Protecting a route:
//!
//! ```no_run
//! # use authtoken_axum::*;
//! # use axum::{Router, routing::get};
//! # #[derive(Clone)] struct Account { id: u64 }
//! # impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
//! # impl AuthUser for Account { fn is_active(&self) -> bool { true } }
//! # async fn run(strategy: WithUsers<authtoken::memory::MemoryStore<u64>, authtoken::memory::MemoryUsers<Account>>) -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::new(vec![AuthBackend::new("bearer", Bearer, strategy)])?;
//!
//! async fn me(CurrentUser(user, ..): CurrentUser<Account>) -> String {
//!     format!("you are user {}", user.id)
//! }
//!
//! let app = Router::new().route("/me", get(me)).with_state(auth);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! A request is authenticated once, however many extractors its handler takes: the first keeps
//! the result in the request's extensions. Failures of the token store are 500s, never 401s: an
//! outage cannot pass for a logout.
//!
//! With [`AuthBackend::with_sessions`], [`auth_router`] also serves a user's sessions:
//! `GET /sessions`, `DELETE /sessions/{id}` and `POST /logout-others`.
//!
//! ## Features
//! - `connect-info` (off by default): the login throttle also counts the client's address, read
//!   from axum's `ConnectInfo<SocketAddr>` (serve the app with
//!   `into_make_service_with_connect_info::<SocketAddr>()`). Without it only the account is
//!   counted.

mod csrf;
mod extract;
mod rejection;
mod routes;

pub use authtoken::{AuthStrategy, WithUsers};
pub use authtoken_http::openapi;
pub use authtoken_http::{
    Active, AnyScope, AnyStatus, AuthBackend, AuthRoutes, AuthUser, Authenticated, Authenticator,
    Bearer, ConfigError, Cookie, Credentials, Header, LoginThrottle, MemoryThrottle, Policy,
    PresentedToken, Reservation, SameOrigin, SameSite, Scopes, Superuser, ThrottleKey,
    ThrottlePolicy, Transport, Verified,
};
pub use csrf::same_origin;
pub use extract::{CurrentUser, CurrentUserToken, Scoped};
pub use rejection::AuthRejection;
pub use routes::{auth_router, auth_router_from};
