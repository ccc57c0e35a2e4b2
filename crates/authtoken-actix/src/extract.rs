//! Extractors for the current user, with the policies fastapi-users' `current_user()` offers.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use authtoken_http::{
    Active, AuthRejection as Refusal, AuthUser, Authenticated, Authenticator, Policy, Scopes,
};
use futures_core::future::LocalBoxFuture;

use crate::{AuthRejection, convert};

/// The result of authenticating a request, kept in its extensions so that a second extractor
/// does not ask the store again.
#[derive(Clone)]
struct Authentication<U>(Option<Authenticated<U>>);

/// The authenticator registered as app data, directly or as `web::Data`.
fn authenticator<U: AuthUser>(request: &HttpRequest) -> Option<Authenticator<U>> {
    request.app_data::<Authenticator<U>>().cloned().or_else(|| {
        request.app_data::<web::Data<Authenticator<U>>>().map(|data| Authenticator::clone(data))
    })
}

/// The request's user, who must pass policy `P`; a refusal carries the backends' challenges.
///
/// `unscoped`: the route declares no scope, so a scoped token is refused (unless its backend
/// accepts scoped tokens everywhere).
async fn authenticate<U: AuthUser, P: Policy>(
    request: HttpRequest,
    unscoped: bool,
) -> Result<(Authenticated<U>, Authenticator<U>), (Refusal, Vec<http::HeaderValue>)> {
    let Some(auth) = authenticator::<U>(&request) else {
        tracing::error!(
            user = std::any::type_name::<U>(),
            "no Authenticator for this user type in the app data; register one with App::app_data"
        );
        let missing = authtoken::Error::Config("no Authenticator registered for this user type");
        return Err((Refusal::Failed(missing), Vec::new()));
    };
    let cached = request.extensions().get::<Authentication<U>>().cloned();
    let found = match cached {
        Some(Authentication(found)) => found,
        None => match auth.authenticate(&convert::headers(request.headers())).await {
            Ok(found) => {
                request.extensions_mut().insert(Authentication(found.clone()));
                found
            }
            // A failure is not kept: the next extractor asks again, and fails again or recovers.
            Err(error) => return Err((error.into(), Vec::new())),
        },
    };
    let challenges = || auth.challenges(&convert::headers(request.headers()));
    let Some(found) = found else {
        return Err((Refusal::Unauthorized, challenges()));
    };
    let allowed = match P::check(&found.user) {
        Ok(()) if unscoped => auth.check_unscoped_route(&found),
        checked => checked,
    };
    match allowed {
        Ok(()) => Ok((found, auth)),
        Err(refusal) => Err((refusal, challenges())),
    }
}

fn rejection((refusal, challenges): (Refusal, Vec<http::HeaderValue>)) -> AuthRejection {
    AuthRejection::new(refusal.into_response(&challenges))
}

/// The authenticated user, under policy `P` ([`Active`] unless given): 401 for a missing,
/// unknown or expired token or an inactive user, 403 where `P` asks more, 500 when the store
/// fails.
#[derive(Debug, Clone)]
pub struct CurrentUser<U, P = Active>(pub U, pub PhantomData<P>);

impl<U, P> CurrentUser<U, P> {
    /// The user.
    pub fn into_inner(self) -> U {
        self.0
    }
}

impl<U, P> std::ops::Deref for CurrentUser<U, P> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.0
    }
}

impl<U: AuthUser, P: Policy> FromRequest for CurrentUser<U, P> {
    type Error = AuthRejection;
    type Future = LocalBoxFuture<'static, Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let (found, _) = authenticate::<U, P>(request, true).await.map_err(rejection)?;
            Ok(Self(found.user, PhantomData))
        })
    }
}

/// The user under policy `P`, or `None` where [`CurrentUser`] would answer 401 or 403. A store
/// failure is still a 500 (unlike `Option<CurrentUser<U>>`, which actix-web makes `None`).
#[derive(Debug, Clone)]
pub struct MaybeUser<U, P = Active>(pub Option<U>, pub PhantomData<P>);

impl<U, P> MaybeUser<U, P> {
    /// The user, if any.
    pub fn into_inner(self) -> Option<U> {
        self.0
    }
}

impl<U: AuthUser, P: Policy> FromRequest for MaybeUser<U, P> {
    type Error = AuthRejection;
    type Future = LocalBoxFuture<'static, Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            match authenticate::<U, P>(request, true).await {
                Ok((found, _)) => Ok(Self(Some(found.user), PhantomData)),
                Err((Refusal::Unauthorized | Refusal::Forbidden | Refusal::ScopedToken, _)) => {
                    Ok(Self(None, PhantomData))
                }
                Err(failure) => Err(rejection(failure)),
            }
        })
    }
}

/// The active user together with the token it presented and the backend that accepted it: what
/// a logout needs.
#[derive(Clone)]
pub struct CurrentUserToken<U> {
    /// The user.
    pub user: U,
    /// The token as presented.
    pub token: String,
    /// The name of the backend that accepted it.
    pub backend: String,
}

impl<U: std::fmt::Debug> std::fmt::Debug for CurrentUserToken<U> {
    // The token is a live credential: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentUserToken")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .field("backend", &self.backend)
            .finish()
    }
}

impl<U: AuthUser> FromRequest for CurrentUserToken<U> {
    type Error = AuthRejection;
    type Future = LocalBoxFuture<'static, Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let (found, auth) =
                authenticate::<U, Active>(request, true).await.map_err(rejection)?;
            let backend = auth.backend(found.backend).name().to_owned();
            Ok(Self { user: found.user, token: found.token, backend })
        })
    }
}

/// The authenticated user (under policy `P`) whose token carries every scope `R` requires: as
/// [`CurrentUser`], and 403 with `WWW-Authenticate: Bearer error="insufficient_scope",
/// scope="…"` (RFC 6750) when a scope is missing. A login session has no scopes: only API
/// tokens issued with them pass.
///
/// ```
/// use authtoken_actix::Scoped;
/// use authtoken_http::Scopes;
/// # #[derive(Clone)] struct Account { id: u64 }
/// # impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
/// # impl authtoken_http::AuthUser for Account { fn is_active(&self) -> bool { true } }
///
/// struct Deploy;
/// impl Scopes for Deploy {
///     const REQUIRED: &'static [&'static str] = &["deploy"];
/// }
///
/// async fn deploy(Scoped(account, ..): Scoped<Account, Deploy>) -> String {
///     format!("deploying for {}", account.id)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Scoped<U, R, P = Active>(pub U, pub PhantomData<(R, P)>);

impl<U, R, P> Scoped<U, R, P> {
    /// The user.
    pub fn into_inner(self) -> U {
        self.0
    }
}

impl<U: AuthUser, R: Scopes, P: Policy> FromRequest for Scoped<U, R, P> {
    type Error = AuthRejection;
    type Future = LocalBoxFuture<'static, Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let (found, _) = authenticate::<U, P>(request, false).await.map_err(rejection)?;
            R::check(&found.scopes).map_err(|refusal| rejection((refusal, Vec::new())))?;
            Ok(Self(found.user, PhantomData))
        })
    }
}
