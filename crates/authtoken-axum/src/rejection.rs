//! The refusals of the extractors and routes, as axum responses.

use authtoken_http::AuthResponse;
use axum::body::Body;
use axum::response::{IntoResponse, Response};

/// A refused request: 401, 403 or 500, already shaped by the backends' transports.
#[derive(Debug)]
pub struct AuthRejection(pub(crate) AuthResponse);

impl AuthRejection {
    /// The status the refusal answers with.
    pub fn status(&self) -> http::StatusCode {
        self.0.status()
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        into_axum(self.0)
    }
}

/// The layer's answer as an axum response (both speak `http` 1).
pub(crate) fn into_axum(response: AuthResponse) -> Response {
    response.map(Body::from)
}
