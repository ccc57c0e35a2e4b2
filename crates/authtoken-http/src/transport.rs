//! How a token travels: the open [`Transport`] trait and the three transports that ship.

use std::time::Duration;

use authtoken::PlaintextToken;
pub use cookie::SameSite;
use http::header::{AUTHORIZATION, COOKIE, InvalidHeaderName, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::response::{AuthResponse, empty, json, no_store};

/// Where a backend finds the token in a request, and how login, logout and a refusal answer.
///
/// Object-safe: backends hold it as `Arc<dyn Transport>`, so a transport of your own (another
/// header, a query parameter) is one `impl`, never an edit of this crate.
pub trait Transport: Send + Sync + 'static {
    /// The token a request carries for this transport, if any. Shape is checked later: return
    /// what the request holds.
    fn token(&self, headers: &HeaderMap) -> Option<String>;

    /// The answer to a successful login, handing `token` to its owner (the one time it is shown).
    fn login_response(&self, token: PlaintextToken) -> AuthResponse;

    /// The answer to a successful logout.
    fn logout_response(&self) -> AuthResponse {
        no_store(empty(StatusCode::NO_CONTENT))
    }

    /// The `WWW-Authenticate` challenge a 401 carries for this transport, if it has a scheme.
    fn challenge(&self) -> Option<HeaderValue> {
        None
    }
}

/// The JSON body a login answers with when the client keeps the token itself.
fn token_body(token: &PlaintextToken, token_type: &str) -> AuthResponse {
    let body =
        serde_json::json!({ "access_token": token.expose_secret(), "token_type": token_type });
    // A token must never sit in a shared cache.
    no_store(json(StatusCode::OK, &body))
}

/// `Authorization: Bearer <token>` (RFC 6750; the scheme is case-insensitive, RFC 9110). Login
/// answers 200 with `{"access_token": "...", "token_type": "bearer"}`; logout answers 204; a
/// refusal carries `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bearer;

impl Transport for Bearer {
    fn token(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
    }

    fn login_response(&self, token: PlaintextToken) -> AuthResponse {
        token_body(&token, "bearer")
    }

    fn challenge(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("Bearer"))
    }
}

/// An API-key header such as `X-API-Key: <token>`. Login answers 200 with
/// `{"access_token": "...", "token_type": "api-key"}`; logout answers 204; a refusal carries no
/// challenge (no standard scheme names it).
#[derive(Debug, Clone)]
pub struct Header {
    name: HeaderName,
}

impl Header {
    /// Reads tokens from the header `name` (case-insensitive, as header names are).
    pub fn new(name: &str) -> Result<Self, InvalidHeaderName> {
        Ok(Self { name: HeaderName::try_from(name)? })
    }

    /// The header's name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }
}

impl Transport for Header {
    fn token(&self, headers: &HeaderMap) -> Option<String> {
        Some(headers.get(&self.name)?.to_str().ok()?.trim().to_owned())
    }

    fn login_response(&self, token: PlaintextToken) -> AuthResponse {
        token_body(&token, "api-key")
    }
}

/// A cookie. Login answers 204 and sets it; logout answers 204 and clears it; a refusal carries
/// no challenge (a browser would show a password dialog for one).
///
/// The defaults are the safe ones: `Secure`, `HttpOnly`, `SameSite=Lax`, path `/`, no `Domain`.
#[derive(Debug, Clone)]
pub struct Cookie {
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

impl Default for Cookie {
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

impl Cookie {
    fn build(&self, value: String, max_age: Option<Duration>) -> cookie::Cookie<'static> {
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

    fn answer(&self, value: String, max_age: Option<Duration>) -> AuthResponse {
        let mut response = no_store(empty(StatusCode::NO_CONTENT));
        if let Ok(header) = HeaderValue::from_str(&self.build(value, max_age).to_string()) {
            response.headers_mut().append(SET_COOKIE, header);
        }
        response
    }
}

impl Transport for Cookie {
    fn token(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == self.name)
            .map(|cookie| cookie.value().to_owned())
    }

    fn login_response(&self, token: PlaintextToken) -> AuthResponse {
        self.answer(token.into_secret(), self.max_age)
    }

    fn logout_response(&self) -> AuthResponse {
        // The same name, path and domain, so the browser replaces it; Max-Age=0 drops it.
        self.answer(String::new(), Some(Duration::ZERO))
    }
}
