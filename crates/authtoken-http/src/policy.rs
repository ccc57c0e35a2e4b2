//! What a user must be for a route: the policies of fastapi-users' `current_user()`.

use crate::{AuthRejection, AuthUser};

/// What a user must be for an extractor to accept them.
pub trait Policy: Send + Sync + 'static {
    /// An inactive user is refused with 401.
    const ACTIVE: bool;
    /// An unverified user is refused with 403.
    const VERIFIED: bool;
    /// A user who is not a superuser is refused with 403.
    const SUPERUSER: bool;

    /// Applies the policy: `Err(Unauthorized)` for an inactive user where activity is required,
    /// `Err(Forbidden)` where more is asked than the user is.
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
        #[derive(Debug, Clone, Copy, Default)]
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
