//! What the strategy needs to know about the application's users.

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;

use crate::BoxError;

/// The bounds a user id type meets: `Uuid`, `i32`, `i64` and `String` all do.
pub trait UserId: Clone + Eq + Hash + Debug + Send + Sync + 'static {}

impl<T: Clone + Eq + Hash + Debug + Send + Sync + 'static> UserId for T {}

/// An application's user, as far as tokens are concerned: something with an id.
pub trait User: Send + Sync {
    /// The type of the user's primary key.
    type Id: UserId;

    /// The user's id, as stored in a token row's `user_id`.
    fn id(&self) -> &Self::Id;
}

/// Turns a user id into the user: the application's side of `read_token`.
///
/// Answer `Ok(None)` for "no such user" (the token then authenticates nobody) and `Err` only for a
/// failure to look: the strategy passes that on as [`Error::UserLoader`](crate::Error::UserLoader).
pub trait UserLoader: Send + Sync {
    /// The user type this loader yields.
    type User: User;

    /// Loads the user with this id, or `None` if there is none.
    fn load_user(
        &self,
        id: &<Self::User as User>::Id,
    ) -> impl Future<Output = Result<Option<Self::User>, BoxError>> + Send;
}
