//! Extractors for the current user, with the policies fastapi-users' `current_user()` offers.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use authtoken_http::{
    Active, AuthRejection as Refusal, AuthUser, Authenticated, Authenticator, Policy,
    PresentedToken, RequestMemo, Scopes,
};
use futures_core::future::LocalBoxFuture;

use crate::{AuthRejection, convert};

/// The answer of a request's first authentication, kept in its extensions.
#[derive(Clone)]
struct Authentication<U>(Option<Authenticated<U>>);

/// A request's extensions as the place its authentication is remembered.
struct Extensions<'a>(&'a HttpRequest);

impl<U: AuthUser> RequestMemo<U> for Extensions<'_> {
    fn recall(&self) -> Option<Option<Authenticated<U>>> {
        let extensions = self.0.extensions();
        extensions.get::<Authentication<U>>().map(|Authentication(found)| found.clone())
    }

    fn remember(&mut self, found: Option<Authenticated<U>>) {
        self.0.extensions_mut().insert(Authentication(found));
    }
}

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
    let headers = convert::headers(request.headers());
    match auth.admit::<P>(&headers, &mut Extensions(&request), unscoped).await {
        Ok(found) => Ok((found, auth)),
        // A failure (500) carries no challenge; a refusal carries the backends'.
        Err(failure @ Refusal::Failed(_)) => Err((failure, Vec::new())),
        Err(refusal) => Err((refusal, auth.challenges(&headers))),
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
#[derive(Clone, Debug)]
pub struct CurrentUserToken<U> {
    /// The user.
    pub user: U,
    /// The token as presented (its `Debug` is redacted).
    pub token: PresentedToken,
    /// The name of the backend that accepted it.
    pub backend: String,
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
