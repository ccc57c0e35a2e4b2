//! What a store must come with to run the conformance suite.

use std::fmt::Debug;
use std::future::Future;

use authtoken::{AccessTokenStore, User, UserLoader};

/// A fresh, isolated store plus a user directory it refers to.
pub trait Backend: Send + Sync + Sized {
    /// The application user type of this backend's users.
    type User: User + Clone + Debug + 'static;
    /// The store under test, over this backend's isolated tables.
    type Store: AccessTokenStore<UserId = <Self::User as User>::Id> + Clone + 'static;
    /// Loads this backend's users.
    type Users: UserLoader<User = Self::User>;

    /// A handle on the store under test (handles share rows).
    fn store(&self) -> Self::Store;

    /// The user loader the strategy reads users through.
    fn users(&self) -> &Self::Users;

    /// Creates a user with a new id, active or not.
    fn create_user(&self, active: bool) -> impl Future<Output = Self::User> + Send;

    /// Deletes a user (on SQL backends, its tokens go with it by the cascade).
    fn delete_user(&self, user: &Self::User) -> impl Future<Output = ()> + Send;

    /// Whether the user is active, as the application sees it.
    fn is_active(user: &Self::User) -> bool;

    /// Drops whatever the backend created for this test.
    fn cleanup(self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// A backend that also stores refresh tokens: what the `refresh` group runs on.
pub trait RefreshBackend: Backend {
    /// The refresh tokens' store, beside [`Backend::Store`].
    type Refresh: authtoken::refresh::RefreshStore<UserId = <Self::User as User>::Id> + 'static;

    /// A handle on this test's refresh store (handles share rows).
    fn refresh_store(&self) -> Self::Refresh;
}
