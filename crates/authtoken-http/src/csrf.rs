//! Cross-site request forgery: the check cookie backends run before login and logout, offered to
//! the application for its own state-changing routes.
//!
//! A browser attaches cookies to a cross-site form post, so a cookie alone does not prove the user
//! meant the request: a page elsewhere could log the victim out, or log them in as the attacker
//! (login CSRF). Browsers say where a request comes from: `Sec-Fetch-Site` (every current
//! browser), and `Origin` on every `POST`. Bearer tokens are not sent by browsers on their own and
//! need none of this.

use http::header::ORIGIN;
use http::{HeaderMap, HeaderValue, Method};

/// Refuses unsafe methods (anything but `GET`, `HEAD`, `OPTIONS`, `TRACE`) from another site.
///
/// A request passes when `Sec-Fetch-Site` is `same-origin` or `none` (typed in the address bar,
/// a bookmark); `same-site` (a sibling subdomain) and `cross-site` are refused. Without
/// `Sec-Fetch-Site` (older browsers), `Origin` must be one of the trusted origins. A request with
/// neither header does not come from a browser's form or script, and passes.
///
/// ```
/// use authtoken_http::SameOrigin;
/// use http::{HeaderMap, Method};
///
/// let check = SameOrigin::new().trust("https://app.example");
/// let mut headers = HeaderMap::new();
/// headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
/// assert!(!check.allows(&Method::POST, &headers));
/// assert!(check.allows(&Method::GET, &headers));
///
/// let mut headers = HeaderMap::new();
/// headers.insert("origin", "https://app.example".parse().unwrap());
/// assert!(check.allows(&Method::POST, &headers));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SameOrigin {
    trusted_origins: Vec<HeaderValue>,
}

impl SameOrigin {
    /// A check that trusts no `Origin` (only `Sec-Fetch-Site` can let a browser request pass).
    pub fn new() -> Self {
        Self::default()
    }

    /// Also accepts requests whose `Origin` is `origin` (scheme, host and port, e.g.
    /// `https://app.example`), for browsers that send no `Sec-Fetch-Site`. An origin that is not
    /// a valid header value can match nothing and is ignored.
    pub fn trust(mut self, origin: &str) -> Self {
        if let Ok(origin) = HeaderValue::from_str(origin.trim_end_matches('/')) {
            self.trusted_origins.push(origin);
        }
        self
    }

    /// Whether a request with this method and these headers may change state.
    pub fn allows(&self, method: &Method, headers: &HeaderMap) -> bool {
        if method.is_safe() {
            return true;
        }
        if let Some(site) = headers.get("sec-fetch-site") {
            return site == "same-origin" || site == "none";
        }
        match headers.get(ORIGIN) {
            Some(origin) => self.trusted_origins.contains(origin),
            None => true,
        }
    }
}
