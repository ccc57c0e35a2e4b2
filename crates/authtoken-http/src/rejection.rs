//! Why a request was refused, and the answer that goes with it.

use http::StatusCode;
use http::header::WWW_AUTHENTICATE;

use crate::response::{AuthResponse, detail, no_store};

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthRejection {
    /// No token, an unknown or expired one, or an inactive user: 401.
    #[error("unauthorized")]
    Unauthorized,
    /// Authenticated, but not verified or not a superuser where that is required: 403.
    #[error("forbidden")]
    Forbidden,
    /// The token lacks a scope the route requires (see [`Scopes`](crate::Scopes)): 403 with
    /// `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750), naming the
    /// scopes required.
    #[error("insufficient scope")]
    InsufficientScope(Vec<String>),
    /// A token with scopes (an API token) on a route that declares none, on a backend that has
    /// not opted in ([`AuthBackend::accepting_scoped_tokens`](crate::AuthBackend::accepting_scoped_tokens)):
    /// 403 `SCOPED_TOKEN_NOT_ALLOWED`. A "read" token is not a full session.
    #[error("a scoped token on a route that declares no scope")]
    ScopedToken,
    /// A cross-site request to a route a cookie authenticates (see
    /// [`SameOrigin`](crate::SameOrigin)): 403.
    #[error("cross-site request refused")]
    CrossSite,
    /// The token store or user loader failed: 500. Never "unauthorized", so an outage cannot
    /// pass for a logout.
    #[error("authentication failed: {0}")]
    Failed(#[from] authtoken::Error),
}

impl AuthRejection {
    /// The answer: `{"detail": "..."}` with 401, 403 or 500. A 401 carries `challenges` (the
    /// transports' `WWW-Authenticate` values, see
    /// [`Authenticator::challenges`](crate::Authenticator::challenges)); a 500 logs the cause
    /// and shows none of it. Every refusal is `Cache-Control: no-store`.
    pub fn into_response(self, challenges: &[http::HeaderValue]) -> AuthResponse {
        match self {
            AuthRejection::Unauthorized => {
                let mut response = no_store(detail(StatusCode::UNAUTHORIZED, "Unauthorized"));
                for challenge in challenges {
                    response.headers_mut().append(WWW_AUTHENTICATE, challenge.clone());
                }
                response
            }
            AuthRejection::Forbidden => no_store(detail(StatusCode::FORBIDDEN, "Forbidden")),
            AuthRejection::InsufficientScope(required) => {
                let mut response = no_store(detail(StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE"));
                // Scope tokens hold no `"` or `\` (RFC 6749); any that would are left out
                // rather than break the header.
                let scope: Vec<&str> = required
                    .iter()
                    .map(String::as_str)
                    .filter(|s| {
                        s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
                    })
                    .collect();
                let challenge =
                    format!("Bearer error=\"insufficient_scope\", scope=\"{}\"", scope.join(" "));
                if let Ok(value) = http::HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(WWW_AUTHENTICATE, value);
                }
                response
            }
            AuthRejection::ScopedToken => {
                no_store(detail(StatusCode::FORBIDDEN, "SCOPED_TOKEN_NOT_ALLOWED"))
            }
            AuthRejection::CrossSite => {
                no_store(detail(StatusCode::FORBIDDEN, "CROSS_SITE_REQUEST_REFUSED"))
            }
            AuthRejection::Failed(error) => {
                tracing::error!(%error, "authentication failed");
                no_store(detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
            }
        }
    }
}
