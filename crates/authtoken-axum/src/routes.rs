//! `POST /login`, `POST /logout` and `POST /logout-all` for one backend, as an axum router.

use std::sync::Arc;

use authtoken_http::{AuthRoutes, AuthUser, Authenticator, ConfigError, Credentials};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;

use crate::rejection::into_axum;

type Shared<U, C> = State<Arc<AuthRoutes<U, C>>>;

/// The routes of backend `backend`, ready to `nest` under a prefix such as `/auth/cookie`.
///
/// - `POST /login` (form `username`, `password`): the transport's login answer; 400
///   `LOGIN_BAD_CREDENTIALS` for a wrong password, an unknown or an inactive user; 422 when a
///   field is missing.
/// - `POST /logout`: revokes the presented token; 401 without a valid one.
/// - `POST /logout-all`: revokes every token of the user ("log out everywhere"); 401 without a
///   valid token.
pub fn auth_router<U, C, S>(
    auth: Authenticator<U>,
    backend: &str,
    credentials: C,
) -> Result<Router<S>, ConfigError>
where
    U: AuthUser,
    C: Credentials<U>,
    S: Clone + Send + Sync + 'static,
{
    let routes = Arc::new(AuthRoutes::new(auth, backend, credentials)?);
    Ok(Router::new()
        .route("/login", post(login::<U, C>))
        .route("/logout", post(logout::<U, C>))
        .route("/logout-all", post(logout_all::<U, C>))
        .with_state(routes))
}

async fn login<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    form: Bytes,
) -> Response {
    into_axum(routes.login(&form).await)
}

async fn logout<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    headers: HeaderMap,
) -> Response {
    into_axum(routes.logout(&headers).await)
}

async fn logout_all<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    headers: HeaderMap,
) -> Response {
    into_axum(routes.logout_all(&headers).await)
}
