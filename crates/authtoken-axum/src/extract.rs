//! Extractors for the current user, with the policies fastapi-users' `current_user()` offers.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::{AuthRejection, AuthUser, Authenticated, Authenticator};

/// What a user must be for an extractor to accept them.
pub trait Policy: Send + Sync + 'static {
    /// An inactive user is refused with 401.
    const ACTIVE: bool;
    /// An unverified user is refused with 403.
    const VERIFIED: bool;
    /// A user who is not a superuser is refused with 403.
    const SUPERUSER: bool;

    /// Applies the policy.
    fn check<U: AuthUser>(user: &U) -> Result<(), AuthRejection> {
        if Self::ACTIVE && !user.is_active() {
            return Err(AuthRejection::Unauthorized);
        }
        if (Self::VERIFIED && !user.is_verified()) || (Self::SUPERUSER && !user.is_superuser()) {
            return Err(AuthRejection::Forbidden);
        }
        Ok(())
    }
}

macro_rules! policy {
    ($(#[$doc:meta])* $name:ident, $active:expr, $verified:expr, $superuser:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Policy for $name {
            const ACTIVE: bool = $active;
            const VERIFIED: bool = $verified;
            const SUPERUSER: bool = $superuser;
        }
    };
}

policy!(
    /// Any authenticated user that is active (the default).
    Active, true, false, false
);
policy!(
    /// An active, verified user.
    Verified, true, true, false
);
policy!(
    /// An active superuser.
    Superuser, true, false, true
);
policy!(
    /// Any authenticated user, inactive ones included.
    AnyStatus, false, false, false
);

/// The request's user, who must pass policy `P`; the authenticator, for callers that need more.
async fn authenticate<U, P, S>(
    parts: &Parts,
    state: &S,
) -> Result<(Authenticated<U>, Authenticator<U>), AuthRejection>
where
    U: AuthUser,
    P: Policy,
    Authenticator<U>: FromRef<S>,
{
    let auth = Authenticator::<U>::from_ref(state);
    let found = auth.authenticate(parts).await?.ok_or(AuthRejection::Unauthorized)?;
    P::check(&found.user)?;
    Ok((found, auth))
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
        let (found, _) = authenticate::<U, P, S>(parts, state).await?;
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
        match <Self as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(user) => Ok(Some(user)),
            Err(AuthRejection::Unauthorized | AuthRejection::Forbidden) => Ok(None),
            Err(failure) => Err(failure),
        }
    }
}

/// The active user together with the token it presented and the backend that accepted it: what
/// a logout needs.
#[derive(Debug, Clone)]
pub struct CurrentUserToken<U> {
    /// The user.
    pub user: U,
    /// The token as presented.
    pub token: String,
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
        let (found, auth) = authenticate::<U, Active, S>(parts, state).await?;
        let backend = auth.backend(found.backend).name.clone();
        Ok(Self { user: found.user, token: found.token, backend })
    }
}
