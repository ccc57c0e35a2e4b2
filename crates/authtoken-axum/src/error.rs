//! The answers the extractors and routes give when they refuse, as fastapi-users words them.

use axum::Json;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthRejection {
    /// No token, an unknown or expired one, or an inactive user: 401.
    #[error("unauthorized")]
    Unauthorized,
    /// Authenticated, but not verified or not a superuser where that is required: 403.
    #[error("forbidden")]
    Forbidden,
    /// The token store or user loader failed: 500. Never "unauthorized", so an outage cannot
    /// pass for a logout.
    #[error("authentication failed: {0}")]
    Failed(#[from] authtoken::Error),
}

/// `{"detail": "..."}` with `status`.
pub(crate) fn detail(status: StatusCode, detail: &str) -> Response {
    (status, Json(serde_json::json!({ "detail": detail }))).into_response()
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Unauthorized => {
                let mut response = detail(StatusCode::UNAUTHORIZED, "Unauthorized");
                response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            AuthRejection::Forbidden => detail(StatusCode::FORBIDDEN, "Forbidden"),
            AuthRejection::Failed(error) => {
                tracing::error!(%error, "authentication failed");
                detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}
