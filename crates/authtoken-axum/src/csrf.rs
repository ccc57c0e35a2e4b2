//! The cross-site check as an axum middleware, for the application's own state-changing routes.

use authtoken_http::{AuthRejection as Refusal, SameOrigin};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::rejection::into_axum;

/// Refuses unsafe requests from other sites with 403 (see [`SameOrigin`]): put it in front of
/// routes that change state and that a cookie authenticates.
///
/// ```
/// # use authtoken_axum::{SameOrigin, same_origin};
/// use axum::{Router, middleware, routing::post};
///
/// let app: Router = Router::new()
///     .route("/account/delete", post(|| async { "deleted" }))
///     .layer(middleware::from_fn_with_state(SameOrigin::new().trust("https://app.example"), same_origin));
/// ```
pub async fn same_origin(
    State(check): State<SameOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if check.allows(request.method(), request.headers()) {
        next.run(request).await
    } else {
        into_axum(Refusal::CrossSite.into_response(&[]))
    }
}
