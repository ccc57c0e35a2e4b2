//! actix-web speaks `http` 0.2, the layer `http` 1: headers and responses cross by bytes.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use authtoken_http::AuthResponse;

/// The request's headers as the layer reads them. Names and values are copied byte for byte; a
/// pair that `http` 1 would not accept (none that actix accepted) is left out.
pub(crate) fn headers(request: &actix_web::http::header::HeaderMap) -> http::HeaderMap {
    let mut headers = http::HeaderMap::with_capacity(request.len());
    for (name, value) in request {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = http::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    headers
}

/// A request method of actix-web's `http` as `http` 1's.
pub(crate) fn method(method: &actix_web::http::Method) -> http::Method {
    http::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(http::Method::POST)
}

/// A status code of `http` 1 in actix-web's type.
pub(crate) fn status(status: http::StatusCode) -> StatusCode {
    StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A response from its parts.
pub(crate) fn response(
    code: http::StatusCode,
    headers: &http::HeaderMap,
    body: Vec<u8>,
) -> HttpResponse {
    let mut response = HttpResponse::build(status(code));
    for (name, value) in headers {
        response.append_header((name.as_str(), value.as_bytes()));
    }
    response.body(body)
}

/// The layer's answer as an actix-web response.
pub(crate) fn answer(answer: AuthResponse) -> HttpResponse {
    let (parts, body) = answer.into_parts();
    response(parts.status, &parts.headers, body)
}
