//! The object-safe face of a user's sessions, for web layers: list them, end one, end the
//! others.

use std::sync::Arc;

use async_trait::async_trait;

use crate::store::{AccessTokenStore, ListTokens};
use crate::{DatabaseStrategy, Result, Session, User, UserLoader, WithUsers};

/// A user's sessions, behind `dyn`: what a "where you're signed in" page and its buttons need.
/// Implemented by [`DatabaseStrategy`] and [`WithUsers`] over a store that lists tokens
/// ([`ListTokens`]); see [`DatabaseStrategy::list_sessions`].
#[async_trait]
pub trait SessionStrategy<U: User>: Send + Sync {
    /// `user`'s live sessions, most recently active first; `current` (the token of the request
    /// asking) marks its own.
    async fn list_sessions(&self, user: &U, current: &str) -> Result<Vec<Session>>;

    /// Ends `user`'s session `id`; `false` for an unknown id and for another user's alike.
    async fn end_session(&self, user: &U, id: &str) -> Result<bool>;

    /// Ends every session of `user` but `current`'s, returning how many ended.
    async fn end_other_sessions(&self, user: &U, current: &str) -> Result<u64>;
}

#[async_trait]
impl<S, U> SessionStrategy<U> for DatabaseStrategy<S>
where
    S: ListTokens,
    U: User<Id = S::UserId>,
{
    async fn list_sessions(&self, user: &U, current: &str) -> Result<Vec<Session>> {
        DatabaseStrategy::list_sessions(self, user, Some(current)).await
    }

    async fn end_session(&self, user: &U, id: &str) -> Result<bool> {
        DatabaseStrategy::end_session(self, user, id).await
    }

    async fn end_other_sessions(&self, user: &U, current: &str) -> Result<u64> {
        DatabaseStrategy::end_other_sessions(self, user, current).await
    }
}

#[async_trait]
impl<S, L> SessionStrategy<L::User> for WithUsers<S, L>
where
    S: AccessTokenStore + ListTokens,
    L: UserLoader,
    L::User: User<Id = S::UserId>,
{
    async fn list_sessions(&self, user: &L::User, current: &str) -> Result<Vec<Session>> {
        self.strategy.list_sessions(user, Some(current)).await
    }

    async fn end_session(&self, user: &L::User, id: &str) -> Result<bool> {
        self.strategy.end_session(user, id).await
    }

    async fn end_other_sessions(&self, user: &L::User, current: &str) -> Result<u64> {
        self.strategy.end_other_sessions(user, current).await
    }
}

#[async_trait]
impl<U: User, T: SessionStrategy<U> + ?Sized> SessionStrategy<U> for Arc<T> {
    async fn list_sessions(&self, user: &U, current: &str) -> Result<Vec<Session>> {
        (**self).list_sessions(user, current).await
    }

    async fn end_session(&self, user: &U, id: &str) -> Result<bool> {
        (**self).end_session(user, id).await
    }

    async fn end_other_sessions(&self, user: &U, current: &str) -> Result<u64> {
        (**self).end_other_sessions(user, current).await
    }
}
