//! actix-web integration for [`authtoken`]: extractors and a scope over the framework-neutral
//! [`authtoken_http`] layer.
//!
//! Register an [`Authenticator`] as app data; [`CurrentUser`] extracts the user, [`MaybeUser`]
//! the user or nobody, [`CurrentUserToken`] the user with its token, and [`auth_scope`] serves
//! login and logout. Protecting a route:
//!
//! ```no_run
//! # use authtoken_actix::*;
//! # use actix_web::{App, HttpServer, web};
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
//! HttpServer::new(move || App::new().app_data(auth.clone()).route("/me", web::get().to(me)))
//!     .bind("127.0.0.1:3000")?
//!     .run()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Use [`MaybeUser`] rather than `Option<CurrentUser<U>>`: actix-web turns every error of an
//! optional extractor into `None`, a store failure included, and an outage must be a 500, never
//! "nobody is logged in". A request is authenticated once, however many extractors its handler
//! takes.

mod convert;
mod csrf;
mod extract;
mod rejection;
mod routes;

pub use authtoken::{AuthStrategy, WithUsers};
pub use authtoken_http::openapi;
pub use authtoken_http::{
    Active, AnyScope, AnyStatus, AuthBackend, AuthRoutes, AuthUser, Authenticated, Authenticator,
    Bearer, ConfigError, Cookie, Credentials, Header, LoginThrottle, MemoryThrottle, Policy,
    Reservation, SameOrigin, SameSite, Scopes, Superuser, ThrottleKey, ThrottlePolicy, Transport,
    Verified,
};
pub use csrf::same_origin;
pub use extract::{CurrentUser, CurrentUserToken, MaybeUser, Scoped};
pub use rejection::AuthRejection;
pub use routes::{auth_scope, auth_scope_from};
