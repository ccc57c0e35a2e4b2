//! axum integration for [`authtoken`], in the manner of fastapi-users' authentication backends.
//!
//! A backend pairs a [`Transport`] (a bearer header or a cookie) with a token strategy; an
//! [`Authenticator`] tries its backends in order; [`CurrentUser`] extracts the user, and
//! [`auth_router`] serves login and logout. Protecting a route:
//!
//! ```no_run
//! # use authtoken_axum::*;
//! # use axum::{Router, routing::get, extract::FromRef};
//! # #[derive(Clone)] struct Account { id: u64 }
//! # impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
//! # impl AuthUser for Account { fn is_active(&self) -> bool { true } }
//! # async fn run(strategy: WithUsers<authtoken::memory::MemoryStore<u64>, authtoken::memory::MemoryUsers<Account>>) -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::new(vec![AuthBackend::new("bearer", Transport::Bearer, strategy)])?;
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
//! Failures of the token store are 500s, never 401s: an outage cannot pass for a logout.

mod backend;
mod error;
mod extract;
mod routes;
mod transport;
mod user;

pub use authtoken::{AuthStrategy, WithUsers};
pub use backend::{AuthBackend, Authenticated, Authenticator, ConfigError};
pub use error::AuthRejection;
pub use extract::{Active, AnyStatus, CurrentUser, CurrentUserToken, Policy, Superuser, Verified};
pub use routes::{Credentials, auth_router};
pub use transport::{CookieTransport, SameSite, Transport};
pub use user::AuthUser;
