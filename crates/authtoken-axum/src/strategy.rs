//! The strategy a backend authenticates with, behind one object-safe trait so that backends with
//! different stores can sit in one list.

use std::future::Future;
use std::pin::Pin;

use authtoken::store::{AccessTokenStore, AccessTokenUserStore};
use authtoken::{DatabaseStrategy, PlaintextToken, Result, User, UserLoader};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Reading, writing and revoking tokens for users of type `U`.
pub trait TokenAuth<U>: Send + Sync + 'static {
    /// The user `token` authenticates, if any.
    fn read<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<U>>>;
    /// A new token for `user`.
    fn write<'a>(&'a self, user: &'a U) -> BoxFuture<'a, Result<PlaintextToken>>;
    /// Revokes `token` if `user` owns it.
    fn destroy<'a>(&'a self, token: &'a str, user: &'a U) -> BoxFuture<'a, Result<bool>>;
    /// Revokes every token of `user`.
    fn destroy_all<'a>(&'a self, user: &'a U) -> BoxFuture<'a, Result<u64>>;
}

/// A strategy that loads the user with a [`UserLoader`] (two queries per request).
pub struct WithUsers<S, L> {
    /// The token strategy.
    pub strategy: DatabaseStrategy<S>,
    /// Where users come from.
    pub users: L,
}

/// A strategy whose store joins each token with its user (one query per request).
pub struct Joined<S>(pub DatabaseStrategy<S>);

impl<S, L> TokenAuth<L::User> for WithUsers<S, L>
where
    S: AccessTokenStore + 'static,
    L: UserLoader + 'static,
    L::User: User<Id = S::UserId>,
{
    fn read<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<L::User>>> {
        Box::pin(self.strategy.read_token(Some(token), &self.users))
    }

    fn write<'a>(&'a self, user: &'a L::User) -> BoxFuture<'a, Result<PlaintextToken>> {
        Box::pin(self.strategy.write_token(user))
    }

    fn destroy<'a>(&'a self, token: &'a str, user: &'a L::User) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.strategy.destroy_token(token, user))
    }

    fn destroy_all<'a>(&'a self, user: &'a L::User) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.strategy.destroy_all_tokens(user))
    }
}

impl<S, U> TokenAuth<U> for Joined<S>
where
    S: AccessTokenUserStore<U> + 'static,
    U: User<Id = S::UserId> + 'static,
{
    fn read<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<U>>> {
        Box::pin(self.0.read_token_with_user(Some(token)))
    }

    fn write<'a>(&'a self, user: &'a U) -> BoxFuture<'a, Result<PlaintextToken>> {
        Box::pin(self.0.write_token(user))
    }

    fn destroy<'a>(&'a self, token: &'a str, user: &'a U) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.0.destroy_token(token, user))
    }

    fn destroy_all<'a>(&'a self, user: &'a U) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.0.destroy_all_tokens(user))
    }
}
