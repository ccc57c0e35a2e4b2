//! `POST /login`, `POST /logout` and `POST /logout-all` for one backend, as an actix-web scope.

use actix_web::{HttpRequest, HttpResponse, Scope, web};
use authtoken_http::{
    AuthRoutes, AuthUser, Authenticator, ConfigError, Credentials, LoginRequest, MAX_LOGIN_BODY,
    RefreshRequest,
};

use crate::convert;

/// The routes of backend `backend` in a scope at `path` (such as `/auth/cookie`).
///
/// - `POST {path}/login` (form `username`, `password`): the transport's login answer; 400
///   `LOGIN_BAD_CREDENTIALS` for a wrong password, an unknown or an inactive user; 422 when a
///   field is missing.
/// - `POST {path}/refresh`: a new pair for a refresh token, where the backend issues them
///   ([`AuthRoutes::refresh`]); 404 otherwise.
/// - `POST {path}/logout`: revokes the presented token; 401 without a valid one.
/// - `POST {path}/logout-all`: revokes every token of the user ("log out everywhere"); 401
///   without a valid token.
pub fn auth_scope<U, C>(
    path: &str,
    auth: Authenticator<U>,
    backend: &str,
    credentials: C,
) -> Result<Scope, ConfigError>
where
    U: AuthUser,
    C: Credentials<U>,
{
    Ok(auth_scope_from(path, AuthRoutes::new(auth, backend, credentials)?))
}

/// [`auth_scope`] from configured routes (with a login throttle, say). Throttling counts the
/// peer's address as actix-web sees it.
pub fn auth_scope_from<U, C>(path: &str, routes: AuthRoutes<U, C>) -> Scope
where
    U: AuthUser,
    C: Credentials<U>,
{
    // Past the layer's limit the body is refused with 413 by the layer itself, not by actix.
    let limit = web::PayloadConfig::new(MAX_LOGIN_BODY + 1);
    web::scope(path)
        .app_data(web::Data::new(routes))
        .app_data(limit)
        .route("/login", web::post().to(login::<U, C>))
        .route("/refresh", web::post().to(refresh::<U, C>))
        .route("/logout", web::post().to(logout::<U, C>))
        .route("/logout-all", web::post().to(logout_all::<U, C>))
        .route("/logout-others", web::post().to(logout_others::<U, C>))
        .route("/sessions", web::get().to(sessions::<U, C>))
        .route("/sessions/{id}", web::delete().to(end_session::<U, C>))
}

type Routes<U, C> = web::Data<AuthRoutes<U, C>>;

async fn login<U: AuthUser, C: Credentials<U>>(
    routes: Routes<U, C>,
    request: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let (headers, client, body) = form_parts(&request, body);
    convert::answer(routes.login(LoginRequest { headers: &headers, client, body: &body }).await)
}

async fn refresh<U: AuthUser, C: Credentials<U>>(
    routes: Routes<U, C>,
    request: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let (headers, client, body) = form_parts(&request, body);
    convert::answer(routes.refresh(RefreshRequest { headers: &headers, client, body: &body }).await)
}

/// The headers, the peer's address and the form body of a login or refresh request.
fn form_parts(
    request: &HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> (http::HeaderMap, Option<std::net::IpAddr>, web::Bytes) {
    // Over the payload limit actix fails the extractor; the layer answers 413 for that.
    let body = body.unwrap_or_else(|_| web::Bytes::from(vec![0; MAX_LOGIN_BODY + 1]));
    let client = request.peer_addr().map(|addr| addr.ip());
    (convert::headers(request.headers()), client, body)
}

async fn logout<U: AuthUser, C: Credentials<U>>(
    routes: Routes<U, C>,
    request: HttpRequest,
) -> HttpResponse {
    convert::answer(routes.logout(&convert::headers(request.headers())).await)
}

async fn logout_all<U: AuthUser, C: Credentials<U>>(
    routes: Routes<U, C>,
    request: HttpRequest,
) -> HttpResponse {
    convert::answer(routes.logout_all(&convert::headers(request.headers())).await)
}

async fn logout_others<U: AuthUser, C: Credentials<U>>(
    routes: Routes<U, C>,
    request: HttpRequest,
) -> HttpResponse {
    convert::answer(routes.logout_others(&convert::headers(request.headers())).await)
}

async fn sessions<U: AuthUser, C: Credentials<U>>(
    routes: Routes<U, C>,
    request: HttpRequest,
) -> HttpResponse {
    convert::answer(routes.sessions(&convert::headers(request.headers())).await)
}

async fn end_session<U: AuthUser, C: Credentials<U>>(
    routes: Routes<U, C>,
    request: HttpRequest,
) -> HttpResponse {
    // The raw segment: an id that does not decode is no session's (404 after authentication).
    let id = request.match_info().query("id");
    convert::answer(routes.end_session(&convert::headers(request.headers()), id).await)
}
