//! Extractors for the current user, with the policies fastapi-users' `current_user()` offers.

use std::marker::PhantomData;

use authtoken_http::{
    Active, AuthRejection as Refusal, AuthUser, Authenticated, Authenticator, Policy,
    PresentedToken, RequestMemo, Scopes,
};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::AuthRejection;

/// The answer of a request's first authentication, kept in its extensions.
#[derive(Clone)]
struct Authentication<U>(Option<Authenticated<U>>);

/// A request's extensions as the place its authentication is remembered.
struct Extensions<'a>(&'a mut axum::http::Extensions);

impl<U: AuthUser> RequestMemo<U> for Extensions<'_> {
    fn recall(&self) -> Option<Option<Authenticated<U>>> {
        self.0.get::<Authentication<U>>().map(|Authentication(found)| found.clone())
    }

    fn remember(&mut self, found: Option<Authenticated<U>>) {
        self.0.insert(Authentication(found));
    }
}

/// The request's user, who must pass policy `P`, and the authenticator.
/// `unscoped`: the route declares no scope, so a scoped token is refused (unless its backend
/// accepts scoped tokens everywhere).
async fn authenticate<U, P, S>(
    parts: &mut Parts,
    state: &S,
    unscoped: bool,
) -> Result<(Authenticated<U>, Authenticator<U>), (Refusal, Authenticator<U>)>
where
    U: AuthUser,
    P: Policy,
    Authenticator<U>: FromRef<S>,
{
    let auth = Authenticator::<U>::from_ref(state);
    let mut memo = Extensions(&mut parts.extensions);
    match auth.admit::<P>(&parts.headers, &mut memo, unscoped).await {
        Ok(found) => Ok((found, auth)),
        Err(refusal) => Err((refusal, auth)),
    }
}

fn rejection<U: AuthUser>(
    parts: &Parts,
) -> impl FnOnce((Refusal, Authenticator<U>)) -> AuthRejection + '_ {
    |(refusal, auth)| AuthRejection(refusal.into_response(&auth.challenges(&parts.headers)))
}

/// The authenticated user, under policy `P` ([`Active`] unless given): 401 for a missing,
/// unknown or expired token or an inactive user, 403 where `P` asks more, 500 when the store
/// fails. As `Option<CurrentUser<U, P>>`, refusals become `None` (failures stay 500).
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

impl<U, P, S> FromRequestParts<S> for CurrentUser<U, P>
where
    U: AuthUser,
    P: Policy,
    Authenticator<U>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let found = authenticate::<U, P, S>(parts, state, true).await;
        let (found, _) = found.map_err(rejection(parts))?;
        Ok(Self(found.user, PhantomData))
    }
}

impl<U, P, S> OptionalFromRequestParts<S> for CurrentUser<U, P>
where
    U: AuthUser,
    P: Policy,
    Authenticator<U>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, AuthRejection> {
        match authenticate::<U, P, S>(parts, state, true).await {
            Ok((found, _)) => Ok(Some(Self(found.user, PhantomData))),
            Err((Refusal::Unauthorized | Refusal::Forbidden | Refusal::ScopedToken, _)) => Ok(None),
            Err(failure) => Err(rejection(parts)(failure)),
        }
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

impl<U, S> FromRequestParts<S> for CurrentUserToken<U>
where
    U: AuthUser,
    Authenticator<U>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let found = authenticate::<U, Active, S>(parts, state, true).await;
        let (found, auth) = found.map_err(rejection(parts))?;
        let backend = auth.backend(found.backend).name().to_owned();
        Ok(Self { user: found.user, token: found.token, backend })
    }
}

/// The authenticated user (under policy `P`) whose token carries every scope `R` requires: as
/// [`CurrentUser`], and 403 with `WWW-Authenticate: Bearer error="insufficient_scope",
/// scope="…"` (RFC 6750) when a scope is missing. A login session has no scopes: only API
/// tokens issued with them pass.
///
/// ```
/// use authtoken_axum::Scoped;
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

impl<U, R, P, S> FromRequestParts<S> for Scoped<U, R, P>
where
    U: AuthUser,
    R: Scopes,
    P: Policy,
    Authenticator<U>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let found = authenticate::<U, P, S>(parts, state, false).await;
        let (found, auth) = found.map_err(rejection(parts))?;
        R::check(&found.scopes).map_err(|refusal| rejection(parts)((refusal, auth)))?;
        Ok(Self(found.user, PhantomData))
    }
}
