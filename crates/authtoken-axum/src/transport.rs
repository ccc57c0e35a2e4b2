//! How a token travels: in an `Authorization: Bearer` header, or in a cookie.

use std::time::Duration;

use authtoken::PlaintextToken;
use axum::Json;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
pub use cookie::SameSite;

/// Where a backend reads the token from, and how login and logout answer.
#[derive(Debug, Clone)]
pub enum Transport {
    /// `Authorization: Bearer <token>`. Login answers 200 with
    /// `{"access_token": "...", "token_type": "bearer"}`; logout answers 204.
    Bearer,
    /// A cookie. Login answers 204 and sets it; logout answers 204 and clears it.
    Cookie(CookieTransport),
}

/// The cookie's name and attributes. The defaults are the safe ones: `Secure`, `HttpOnly`,
/// `SameSite=Lax`, path `/`.
#[derive(Debug, Clone)]
pub struct CookieTransport {
    /// The cookie's name (default `authtoken`).
    pub name: String,
    /// `Max-Age`; `None` makes a session cookie. Match it to the strategy's lifetime.
    pub max_age: Option<Duration>,
    /// `Path` (default `/`).
    pub path: String,
    /// `Domain`; `None` keeps the cookie to the host that set it.
    pub domain: Option<String>,
    /// `Secure`: sent over HTTPS only. Turn off only for plain-HTTP development.
    pub secure: bool,
    /// `HttpOnly`: out of reach of page scripts, so an XSS cannot read the token.
    pub http_only: bool,
    /// `SameSite` (default `Lax`).
    pub same_site: SameSite,
}

impl Default for CookieTransport {
    fn default() -> Self {
        Self {
            name: "authtoken".to_owned(),
            max_age: None,
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
        }
    }
}

impl CookieTransport {
    fn cookie(&self, value: String, max_age: Option<Duration>) -> cookie::Cookie<'static> {
        let mut cookie = cookie::Cookie::build((self.name.clone(), value))
            .path(self.path.clone())
            .secure(self.secure)
            .http_only(self.http_only)
            .same_site(self.same_site);
        if let Some(domain) = &self.domain {
            cookie = cookie.domain(domain.clone());
        }
        if let Some(age) = max_age {
            let seconds = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
            cookie = cookie.max_age(cookie::time::Duration::seconds(seconds));
        }
        cookie.build()
    }
}

#[derive(serde::Serialize)]
struct BearerResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
}

impl Transport {
    /// The token a request carries for this transport, if any.
    pub fn token(&self, parts: &Parts) -> Option<String> {
        match self {
            Transport::Bearer => {
                let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
            }
            Transport::Cookie(settings) => parts
                .headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(cookie::Cookie::split_parse)
                .filter_map(Result::ok)
                .find(|cookie| cookie.name() == settings.name)
                .map(|cookie| cookie.value().to_owned()),
        }
    }

    /// What a successful login answers.
    pub fn login_response(&self, token: PlaintextToken) -> Response {
        match self {
            Transport::Bearer => {
                let body =
                    BearerResponse { access_token: token.expose_secret(), token_type: "bearer" };
                // A token must not sit in a shared cache.
                let mut response = Json(body).into_response();
                response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Transport::Cookie(settings) => {
                let cookie = settings.cookie(token.into_secret(), settings.max_age);
                with_cookie(StatusCode::NO_CONTENT.into_response(), &cookie)
            }
        }
    }

    /// What a successful logout answers.
    pub fn logout_response(&self) -> Response {
        match self {
            Transport::Bearer => StatusCode::NO_CONTENT.into_response(),
            Transport::Cookie(settings) => {
                // The same name, path and domain, so the browser replaces it; Max-Age=0 drops it.
                let cookie = settings.cookie(String::new(), Some(Duration::ZERO));
                with_cookie(StatusCode::NO_CONTENT.into_response(), &cookie)
            }
        }
    }
}

fn with_cookie(mut response: Response, cookie: &cookie::Cookie<'_>) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
