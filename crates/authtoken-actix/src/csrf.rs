//! The cross-site check as an actix-web middleware, for the application's own state-changing
//! routes.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use authtoken_http::{AuthRejection as Refusal, SameOrigin};

use crate::convert;

/// Refuses unsafe requests from other sites with 403 (see [`SameOrigin`]): wrap the routes that
/// change state and that a cookie authenticates. The check is the [`SameOrigin`] registered as
/// app data, or one that trusts no `Origin`.
///
/// ```
/// # use authtoken_actix::{SameOrigin, same_origin};
/// use actix_web::{App, middleware, web};
///
/// let app = App::new()
///     .app_data(SameOrigin::new().trust("https://app.example"))
///     .service(
///         web::scope("/account")
///             .wrap(middleware::from_fn(same_origin))
///             .route("/delete", web::post().to(|| async { "deleted" })),
///     );
/// ```
pub async fn same_origin(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let allowed = {
        let check = request.app_data::<SameOrigin>().cloned().unwrap_or_default();
        check.allows(&convert::method(request.method()), &convert::headers(request.headers()))
    };
    if allowed {
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    let refusal = convert::answer(Refusal::CrossSite.into_response(&[]));
    Ok(request.into_response(refusal))
}
