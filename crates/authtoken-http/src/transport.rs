//! How a token travels: the open [`Transport`] trait and the three transports that ship.

use std::time::Duration;

use authtoken::PlaintextToken;
pub use cookie::SameSite;
use http::header::{AUTHORIZATION, COOKIE, InvalidHeaderName, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::csrf::SameOrigin;
use crate::presented::PresentedToken;
use crate::refresh_cookie::RefreshCookie;
use crate::response::{AuthResponse, empty, json, no_store};

/// Where a backend finds the token in a request, and how login, logout and a refusal answer.
///
/// Object-safe: backends hold it as `Arc<dyn Transport>`, so a transport of your own (another
/// header, a query parameter) is one `impl`, never an edit of this crate.
pub trait Transport: Send + Sync + 'static {
    /// The token a request carries for this transport, if any. Shape is checked later: return
    /// what the request holds.
    fn token(&self, headers: &HeaderMap) -> Option<PresentedToken>;

    /// The answer to a successful login, handing `token` to its owner (the one time it is shown).
    fn login_response(&self, token: PlaintextToken) -> AuthResponse;

    /// The answer to a successful logout.
    fn logout_response(&self) -> AuthResponse {
        no_store(empty(StatusCode::NO_CONTENT))
    }

    /// The `WWW-Authenticate` challenge a 401 to this request carries for this transport, if it
    /// has a scheme (`headers` tell whether a credential was presented and refused).
    fn challenge(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let _ = headers;
        None
    }

    /// Whether this transport's login and logout may run for this request: a transport the
    /// browser sends by itself (a cookie) refuses cross-site requests here. `true` by default.
    fn allows(&self, method: &Method, headers: &HeaderMap) -> bool {
        let _ = (method, headers);
        true
    }

    /// How the OpenAPI document ([`openapi::document`](crate::openapi::document)) describes this
    /// transport; `None` documents it as a bearer token.
    fn describe(&self) -> Option<TransportDoc> {
        None
    }

    /// Where a refresh token travels when the backend issues them
    /// ([`AuthBackend::with_refresh`](crate::AuthBackend::with_refresh)): `None` (the default)
    /// adds it to the login answer's JSON body (`refresh_token`, `expires_in`, the OAuth token
    /// response) and reads it from the refresh request's form; a browser transport names a
    /// cookie of its own.
    fn refresh_cookie(&self) -> Option<RefreshCookie> {
        None
    }
}

/// How the OpenAPI document ([`openapi::document`](crate::openapi::document)) describes one
/// transport: its security scheme and its login answer.
#[derive(Debug, Clone)]
pub struct TransportDoc {
    /// The OpenAPI security scheme object (`{"type": "http", "scheme": "bearer"}`, …).
    pub security_scheme: serde_json::Value,
    /// The status of a successful login.
    pub login_status: u16,
    /// The JSON schema of a successful login's body, if it has one.
    pub login_body: Option<serde_json::Value>,
    /// Whether login and logout refuse cross-site requests with 403.
    pub cross_site_check: bool,
}

/// The value of the one cookie called `name` in `headers`. Two of them: one may have been
/// planted from a sibling subdomain (cookie tossing), and nothing tells which, so neither counts.
pub(crate) fn only_cookie(headers: &HeaderMap, name: &str) -> Option<PresentedToken> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == name);
    let first = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(PresentedToken::new(first.value().to_owned()))
}

/// The schema of a login answer that hands the token over in JSON.
fn token_response() -> serde_json::Value {
    serde_json::json!({ "$ref": "#/components/schemas/TokenResponse" })
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
/// refusal carries `WWW-Authenticate: Bearer`, with `error="invalid_token"` when a token was
/// presented and refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bearer;

impl Transport for Bearer {
    fn token(&self, headers: &HeaderMap) -> Option<PresentedToken> {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| PresentedToken::new(token.trim().to_owned()))
    }

    fn login_response(&self, token: PlaintextToken) -> AuthResponse {
        token_body(&token, "bearer")
    }

    fn describe(&self) -> Option<TransportDoc> {
        Some(TransportDoc {
            security_scheme: serde_json::json!({ "type": "http", "scheme": "bearer" }),
            login_status: 200,
            login_body: Some(token_response()),
            cross_site_check: false,
        })
    }

    fn challenge(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(if self.token(headers).is_some() {
            r#"Bearer error="invalid_token""#
        } else {
            "Bearer"
        }))
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
    fn token(&self, headers: &HeaderMap) -> Option<PresentedToken> {
        Some(PresentedToken::new(headers.get(&self.name)?.to_str().ok()?.trim().to_owned()))
    }

    fn login_response(&self, token: PlaintextToken) -> AuthResponse {
        token_body(&token, "api-key")
    }

    fn describe(&self) -> Option<TransportDoc> {
        Some(TransportDoc {
            security_scheme: serde_json::json!({
                "type": "apiKey", "in": "header", "name": self.name.as_str()
            }),
            login_status: 200,
            login_body: Some(token_response()),
            cross_site_check: false,
        })
    }
}

/// A cookie. Login answers 204 and sets it; logout answers 204 and clears it; a refusal carries
/// no challenge (a browser would show a password dialog for one).
///
/// The defaults are the safe ones: the name `__Host-authtoken`, `Secure`, `HttpOnly`,
/// `SameSite=Lax`, path `/`, no `Domain`. The `__Host-` prefix makes browsers refuse the cookie
/// from a sibling subdomain or over plain HTTP (cookie tossing); it is dropped from the name where
/// its conditions (`Secure`, no `Domain`, `Path=/`) do not hold, since browsers would refuse the
/// cookie altogether. A request carrying two cookies of the name authenticates nobody.
///
/// Login, logout and logout-all refuse cross-site requests with 403 (see [`SameOrigin`]); list
/// the origins to trust for browsers without `Sec-Fetch-Site` in `trusted_origins`.
#[derive(Debug, Clone)]
pub struct Cookie {
    /// The cookie's name (default `__Host-authtoken`).
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
    /// Origins (`https://app.example`) whose unsafe requests pass the cross-site check when the
    /// browser sends no `Sec-Fetch-Site`.
    pub trusted_origins: Vec<String>,
    /// With refresh tokens on, the refresh route's path as the browser requests it
    /// (`/auth/cookie/refresh`): the refresh cookie's `Path`, so that no other request carries
    /// it. Required then ([`ConfigError::RefreshPath`](crate::ConfigError::RefreshPath)).
    pub refresh_path: Option<String>,
}

impl Default for Cookie {
    fn default() -> Self {
        Self {
            name: "__Host-authtoken".to_owned(),
            max_age: None,
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            trusted_origins: Vec::new(),
            refresh_path: None,
        }
    }
}

impl Cookie {
    /// The name the cookie is set and read under: `name`, without a `__Host-` prefix whose
    /// conditions do not hold (a browser would drop such a cookie).
    pub fn effective_name(&self) -> &str {
        match self.name.strip_prefix("__Host-") {
            Some(bare) if !(self.secure && self.domain.is_none() && self.path == "/") => bare,
            _ => &self.name,
        }
    }

    fn build(&self, value: String, max_age: Option<Duration>) -> cookie::Cookie<'static> {
        let mut cookie = cookie::Cookie::build((self.effective_name().to_owned(), value))
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
    fn token(&self, headers: &HeaderMap) -> Option<PresentedToken> {
        only_cookie(headers, self.effective_name())
    }

    fn allows(&self, method: &Method, headers: &HeaderMap) -> bool {
        let check = self.trusted_origins.iter().fold(SameOrigin::new(), |c, o| c.trust(o));
        check.allows(method, headers)
    }

    fn describe(&self) -> Option<TransportDoc> {
        Some(TransportDoc {
            security_scheme: serde_json::json!({
                "type": "apiKey", "in": "cookie", "name": self.effective_name()
            }),
            login_status: 204,
            login_body: None,
            cross_site_check: true,
        })
    }

    fn login_response(&self, token: PlaintextToken) -> AuthResponse {
        self.answer(token.into_secret(), self.max_age)
    }

    fn refresh_cookie(&self) -> Option<RefreshCookie> {
        // The access cookie's name without its prefix, `-refresh` after it; `__Secure-` where it
        // holds (`__Host-` would need `Path=/`, which a refresh cookie must not have).
        let base = self.name.trim_start_matches("__Host-").trim_start_matches("__Secure-");
        let prefix = if self.secure { "__Secure-" } else { "" };
        Some(RefreshCookie {
            name: format!("{prefix}{base}-refresh"),
            path: self.refresh_path.clone(),
            secure: self.secure,
            domain: self.domain.clone(),
        })
    }

    fn logout_response(&self) -> AuthResponse {
        // The same name, path and domain, so the browser replaces it; Max-Age=0 drops it.
        self.answer(String::new(), Some(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_default_cookie_is_a_host_cookie_where_browsers_accept_one() {
        let cookie = Cookie::default();
        assert_eq!(cookie.effective_name(), "__Host-authtoken");
        let answer = cookie.login_response(PlaintextToken::generate().unwrap());
        let set = answer.headers()[SET_COOKIE].to_str().unwrap();
        assert!(set.starts_with("__Host-authtoken="), "{set}");
        assert!(set.contains("Secure") && set.contains("Path=/") && !set.contains("Domain"));
        // Plain-HTTP development, a Domain or a narrower path: the prefix would get the cookie
        // refused, so it is dropped.
        for cookie in [
            Cookie { secure: false, ..Cookie::default() },
            Cookie { domain: Some("example.com".into()), ..Cookie::default() },
            Cookie { path: "/app".into(), ..Cookie::default() },
        ] {
            assert_eq!(cookie.effective_name(), "authtoken");
        }
        let named = Cookie { name: "session".into(), ..Cookie::default() };
        assert_eq!(named.effective_name(), "session");
    }

    #[test]
    fn one_cookie_of_the_name_or_nobody() {
        let cookie = Cookie::default();
        let one = headers(&[("cookie", "a=1; __Host-authtoken=tok; b=2")]);
        assert_eq!(cookie.token(&one).as_ref().map(PresentedToken::expose_secret), Some("tok"));
        let tossed = headers(&[("cookie", "__Host-authtoken=mine; __Host-authtoken=planted")]);
        assert_eq!(cookie.token(&tossed), None);
        let split =
            headers(&[("cookie", "__Host-authtoken=mine"), ("cookie", "__Host-authtoken=x")]);
        assert_eq!(cookie.token(&split), None);
        assert_eq!(cookie.token(&headers(&[("cookie", "authtoken=tok")])), None);
    }

    #[test]
    fn bearer_challenges_say_invalid_token_only_when_one_was_presented() {
        assert_eq!(Bearer.challenge(&HeaderMap::new()).unwrap(), "Bearer");
        let presented = headers(&[("authorization", "Bearer abc")]);
        assert_eq!(Bearer.challenge(&presented).unwrap(), r#"Bearer error="invalid_token""#);
        let basic = headers(&[("authorization", "Basic abc")]);
        assert_eq!(Bearer.challenge(&basic).unwrap(), "Bearer");
        assert!(Cookie::default().challenge(&presented).is_none());
    }
}
