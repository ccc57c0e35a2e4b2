//! [`RefreshCookie`]: how a browser transport keeps a refresh token, in a cookie of its own that
//! only the refresh route ever receives.

use std::time::Duration;

use cookie::SameSite;
use http::HeaderValue;

use crate::presented::PresentedToken;

/// The refresh token's cookie: `HttpOnly` (page scripts never see it), `SameSite=Strict` (never
/// sent by a cross-site request) and a `Path` limited to the refresh route, so that no other
/// request carries it. Made by a browser transport's
/// [`Transport::refresh_cookie`](crate::Transport::refresh_cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshCookie {
    /// The cookie's name.
    pub name: String,
    /// The refresh route's path as the browser requests it (`/auth/cookie/refresh`): the
    /// cookie's `Path`. `None` is a configuration error once refresh tokens are on.
    pub path: Option<String>,
    /// `Secure`: sent over HTTPS only.
    pub secure: bool,
    /// `Domain`, as the access cookie's.
    pub domain: Option<String>,
}

impl RefreshCookie {
    /// `Set-Cookie` handing `value` over for `max_age` (zero: the cookie is dropped).
    pub fn set(&self, value: &str, max_age: Duration) -> Option<HeaderValue> {
        let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        let mut cookie = cookie::Cookie::build((self.name.clone(), value.to_owned()))
            .path(self.path.clone().unwrap_or_else(|| "/".to_owned()))
            .secure(self.secure)
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(cookie::time::Duration::seconds(seconds));
        if let Some(domain) = &self.domain {
            cookie = cookie.domain(domain.clone());
        }
        HeaderValue::from_str(&cookie.build().to_string()).ok()
    }

    /// `Set-Cookie` dropping the cookie (a logout, a refused refresh).
    pub fn clear(&self) -> Option<HeaderValue> {
        self.set("", Duration::ZERO)
    }

    /// The refresh token a request carries; none when it carries two cookies of the name (one
    /// may have been planted from a sibling subdomain).
    pub fn read(&self, headers: &http::HeaderMap) -> Option<PresentedToken> {
        crate::transport::only_cookie(headers, &self.name)
    }
}

#[cfg(test)]
mod tests {
    use http::header::COOKIE;

    use super::*;

    #[test]
    fn the_cookie_is_strict_http_only_and_scoped_to_the_refresh_route() {
        let cookie = RefreshCookie {
            name: "__Secure-authtoken-refresh".into(),
            path: Some("/auth/cookie/refresh".into()),
            secure: true,
            domain: None,
        };
        let set = cookie.set("tok", Duration::from_secs(60)).unwrap();
        let set = set.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/auth/cookie/refresh"] {
            assert!(set.contains(part), "{set}");
        }
        let mut headers = http::HeaderMap::new();
        headers.insert(COOKIE, "a=1; __Secure-authtoken-refresh=tok".parse().unwrap());
        assert_eq!(cookie.read(&headers).unwrap().expose_secret(), "tok");
        headers.append(COOKIE, "__Secure-authtoken-refresh=other".parse().unwrap());
        assert!(cookie.read(&headers).is_none(), "two cookies of the name");
        assert!(cookie.clear().unwrap().to_str().unwrap().contains("Max-Age=0"));
    }
}
