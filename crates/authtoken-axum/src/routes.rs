//! `POST /login`, `POST /logout` and `POST /logout-all` for one backend.

use std::future::Future;
use std::sync::Arc;

use authtoken::BoxError;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

use crate::error::detail;
use crate::{AuthRejection, AuthUser, Authenticator, ConfigError};

/// Checks a username and password: the application's side of `POST /login`.
pub trait Credentials<U>: Send + Sync + 'static {
    /// The user these credentials belong to; `None` for an unknown user or a wrong password.
    ///
    /// Take the same time for both (verify against a dummy hash when the user is unknown), so
    /// that response times do not tell which usernames exist.
    fn verify(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<Option<U>, BoxError>> + Send;
}

/// The login form: `username` and `password`, as OAuth2's password flow (and fastapi-users) name them.
#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

struct Routes<U, C> {
    auth: Authenticator<U>,
    backend: usize,
    credentials: C,
}

type Shared<U, C> = State<Arc<Routes<U, C>>>;

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
    let backend = auth.index_of(backend)?;
    let routes = Arc::new(Routes { auth, backend, credentials });
    Ok(Router::new()
        .route("/login", post(login::<U, C>))
        .route("/logout", post(logout::<U, C>))
        .route("/logout-all", post(logout_all::<U, C>))
        .with_state(routes))
}

async fn login<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return detail(StatusCode::UNPROCESSABLE_ENTITY, &rejection.body_text()),
    };
    let user = match routes.credentials.verify(&form.username, &form.password).await {
        Ok(Some(user)) if user.is_active() => user,
        Ok(_) => return detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS"),
        Err(error) => {
            return AuthRejection::Failed(authtoken::Error::UserLoader(error)).into_response();
        }
    };
    let backend = routes.auth.backend(routes.backend);
    match backend.strategy.write(&user).await {
        Ok(token) => backend.transport.login_response(token),
        Err(error) => AuthRejection::Failed(error).into_response(),
    }
}

/// The active user behind this backend's token, and the token.
struct BackendUser<U> {
    user: U,
    token: String,
}

impl<U: AuthUser, C: Credentials<U>> FromRequestParts<Arc<Routes<U, C>>> for BackendUser<U> {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        routes: &Arc<Routes<U, C>>,
    ) -> Result<Self, AuthRejection> {
        let found = routes.auth.authenticate_with(routes.backend, parts).await?;
        let found =
            found.filter(|found| found.user.is_active()).ok_or(AuthRejection::Unauthorized)?;
        Ok(Self { user: found.user, token: found.token })
    }
}

async fn logout<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    current: BackendUser<U>,
) -> Result<Response, AuthRejection> {
    let backend = routes.auth.backend(routes.backend);
    backend.strategy.destroy(&current.token, &current.user).await?;
    Ok(backend.transport.logout_response())
}

async fn logout_all<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    current: BackendUser<U>,
) -> Result<Response, AuthRejection> {
    let backend = routes.auth.backend(routes.backend);
    backend.strategy.destroy_all(&current.user).await?;
    Ok(backend.transport.logout_response())
}
