//! `POST /login`, `POST /logout` and `POST /logout-all` for one backend, as an axum router.

use std::sync::Arc;

use authtoken_http::{
    AuthRoutes, AuthUser, Authenticator, ConfigError, Credentials, LoginRequest, MAX_LOGIN_BODY,
    RefreshRequest,
};
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{delete, get, post};

use crate::rejection::into_axum;

type Shared<U, C> = State<Arc<AuthRoutes<U, C>>>;

/// The routes of backend `backend`, ready to `nest` under a prefix such as `/auth/cookie`.
///
/// - `POST /login` (form `username`, `password`): the transport's login answer; 400
///   `LOGIN_BAD_CREDENTIALS` for a wrong password, an unknown or an inactive user; 422 when a
///   field is missing.
/// - `POST /refresh`: a new pair for a refresh token, where the backend issues them
///   ([`AuthRoutes::refresh`]); 404 otherwise.
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
    Ok(auth_router_from(AuthRoutes::new(auth, backend, credentials)?))
}

/// [`auth_router`] from configured routes (with a login throttle, say):
///
/// ```
/// # use authtoken_axum::*;
/// # #[derive(Clone)] struct Account { id: u64 }
/// # impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
/// # impl AuthUser for Account { fn is_active(&self) -> bool { true } }
/// # struct Passwords;
/// # impl Credentials<Account> for Passwords {
/// #     async fn verify(&self, _: &str, _: &str) -> Result<Option<Account>, authtoken::BoxError> { Ok(None) }
/// # }
/// # fn build(auth: Authenticator<Account>) -> Result<axum::Router, ConfigError> {
/// let routes = AuthRoutes::new(auth, "bearer", Passwords)?.with_throttle(MemoryThrottle::new());
/// let router: axum::Router = auth_router_from(routes);
/// # Ok(router) }
/// ```
///
/// With the `connect-info` feature, throttling also counts the peer's address, when the app is
/// served with `into_make_service_with_connect_info::<SocketAddr>()`; otherwise only the account
/// is counted.
pub fn auth_router_from<U, C, S>(routes: AuthRoutes<U, C>) -> Router<S>
where
    U: AuthUser,
    C: Credentials<U>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/login", post(login::<U, C>))
        .route("/refresh", post(refresh::<U, C>))
        .route("/logout", post(logout::<U, C>))
        .route("/logout-all", post(logout_all::<U, C>))
        .route("/logout-others", post(logout_others::<U, C>))
        .route("/sessions", get(sessions::<U, C>))
        .route("/sessions/{id}", delete(end_session::<U, C>))
        .with_state(Arc::new(routes))
}

async fn login<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    request: Request,
) -> Response {
    let (headers, client, body) = form_parts(request).await;
    into_axum(routes.login(LoginRequest { headers: &headers, client, body: &body }).await)
}

async fn refresh<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    request: Request,
) -> Response {
    let (headers, client, body) = form_parts(request).await;
    into_axum(routes.refresh(RefreshRequest { headers: &headers, client, body: &body }).await)
}

/// The headers, the peer's address and the form body of a login or refresh request.
async fn form_parts(request: Request) -> (HeaderMap, Option<std::net::IpAddr>, axum::body::Bytes) {
    let (parts, body) = request.into_parts();
    let client = client_address(&parts.extensions);
    // One byte past the limit is enough to know the body is too large.
    let body = match axum::body::to_bytes(body, MAX_LOGIN_BODY + 1).await {
        Ok(body) => body,
        Err(_) => vec![0; MAX_LOGIN_BODY + 1].into(),
    };
    (parts.headers, client, body)
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

async fn logout_others<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    headers: HeaderMap,
) -> Response {
    into_axum(routes.logout_others(&headers).await)
}

async fn sessions<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    headers: HeaderMap,
) -> Response {
    into_axum(routes.sessions(&headers).await)
}

async fn end_session<U: AuthUser, C: Credentials<U>>(
    State(routes): Shared<U, C>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    // An id that does not even decode is no session's: 404 as any unknown id, after the same
    // authentication.
    let id = id.map(|Path(id)| id).unwrap_or_default();
    into_axum(routes.end_session(&headers, &id).await)
}

/// The peer's address, where axum's `ConnectInfo` carries it.
#[cfg(feature = "connect-info")]
fn client_address(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    use axum::extract::ConnectInfo;
    extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip())
}

#[cfg(not(feature = "connect-info"))]
fn client_address(_: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    None
}
