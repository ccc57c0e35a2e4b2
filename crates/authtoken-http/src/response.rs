//! What the layer answers: plain `http` responses that each adapter maps to its framework's type.

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};

/// A response of this layer: status, headers and a body of bytes.
pub type AuthResponse = http::Response<Vec<u8>>;

/// An empty response with `status`.
pub(crate) fn empty(status: StatusCode) -> AuthResponse {
    let mut response = AuthResponse::new(Vec::new());
    *response.status_mut() = status;
    response
}

/// A JSON response with `status`.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> AuthResponse {
    let mut response = empty(status);
    *response.body_mut() = body.to_string().into_bytes();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"detail": "..."}` with `status`, the shape fastapi-users answers errors in.
pub fn detail(status: StatusCode, detail: &str) -> AuthResponse {
    json(status, &serde_json::json!({ "detail": detail }))
}

/// Marks a response as never to be cached: it carries or revokes a credential.
pub(crate) fn no_store(mut response: AuthResponse) -> AuthResponse {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
