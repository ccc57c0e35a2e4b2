//! The refusals of the extractors, as actix-web errors.

use actix_web::{HttpResponse, ResponseError};
use authtoken_http::AuthResponse;

use crate::convert;

/// A refused request: 401, 403 or 500, already shaped by the backends' transports.
#[derive(Debug)]
pub struct AuthRejection {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl AuthRejection {
    pub(crate) fn new(answer: AuthResponse) -> Self {
        let (parts, body) = answer.into_parts();
        Self { status: parts.status, headers: parts.headers, body }
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "authentication refused the request ({})", self.status)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        convert::status(self.status)
    }

    fn error_response(&self) -> HttpResponse {
        convert::response(self.status, &self.headers, self.body.clone())
    }
}
