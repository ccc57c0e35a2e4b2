//! `POST /login`, `POST /logout` and `POST /logout-all` for one backend, as an actix-web scope.

use actix_web::{HttpRequest, HttpResponse, Scope, web};
use authtoken_http::{AuthRoutes, AuthUser, Authenticator, ConfigError, Credentials};

use crate::convert;

/// The routes of backend `backend` in a scope at `path` (such as `/auth/cookie`).
///
/// - `POST {path}/login` (form `username`, `password`): the transport's login answer; 400
///   `LOGIN_BAD_CREDENTIALS` for a wrong password, an unknown or an inactive user; 422 when a
///   field is missing.
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
    let routes = web::Data::new(AuthRoutes::new(auth, backend, credentials)?);
    Ok(web::scope(path)
        .app_data(routes)
        .route("/login", web::post().to(login::<U, C>))
        .route("/logout", web::post().to(logout::<U, C>))
        .route("/logout-all", web::post().to(logout_all::<U, C>)))
}

type Routes<U, C> = web::Data<AuthRoutes<U, C>>;

async fn login<U: AuthUser, C: Credentials<U>>(
    routes: Routes<U, C>,
    form: web::Bytes,
) -> HttpResponse {
    convert::answer(routes.login(&form).await)
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
