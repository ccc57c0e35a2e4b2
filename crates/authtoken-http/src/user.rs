//! What the policies need to know about a user beyond its id.

/// A user the policies can be applied to, as fastapi-users' user model is.
pub trait AuthUser: authtoken::User + Clone + Send + Sync + 'static {
    /// Whether the user may use the service at all; an inactive user is "not authenticated".
    fn is_active(&self) -> bool;

    /// Whether the user has verified their address; only [`Verified`](crate::Verified) asks.
    fn is_verified(&self) -> bool {
        false
    }

    /// Whether the user is an administrator; only [`Superuser`](crate::Superuser) asks.
    fn is_superuser(&self) -> bool {
        false
    }
}
