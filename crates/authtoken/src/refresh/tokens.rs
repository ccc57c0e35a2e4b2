//! [`RefreshTokens`]: what the web layer asks of refresh tokens, as one object-safe trait over
//! every [`RefreshStrategy`](super::RefreshStrategy), whatever its stores.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::store::RefreshStore;
use super::strategy::{RefreshStrategy, Refreshed, TokenPair};
use crate::{AccessTokenStore, ClientInfo, IssueOptions, Result, User};

/// Refresh tokens for users `U`, behind a pointer: the routes of `authtoken-http` hold one.
/// [`RefreshStrategy`] implements it; each method is the strategy's own, with the client of the
/// request where a token is issued.
#[async_trait]
pub trait RefreshTokens<U: User>: Send + Sync {
    /// [`RefreshStrategy::login_with`], for a login from `client`.
    async fn login(&self, user: &U, client: &ClientInfo) -> Result<TokenPair>;

    /// [`RefreshStrategy::refresh_with`], for a refresh from `client`.
    async fn refresh(&self, presented: &str, client: &ClientInfo) -> Result<Refreshed>;

    /// [`RefreshStrategy::end_family`].
    async fn end_family(&self, family: &str) -> Result<u64>;

    /// [`RefreshStrategy::logout`].
    async fn logout(&self, access_token: &str, user: &U) -> Result<bool>;

    /// [`RefreshStrategy::end_all`].
    async fn end_all(&self, user: &U) -> Result<u64>;

    /// [`RefreshStrategy::end_session`].
    async fn end_session(&self, user: &U, session: &str) -> Result<bool>;

    /// [`RefreshStrategy::end_others`].
    async fn end_others(&self, user: &U, access_token: &str) -> Result<u64>;

    /// How long an unused refresh token lives (a refresh cookie's `Max-Age`).
    fn idle_timeout(&self) -> Duration;
}

#[async_trait]
impl<U, S, R> RefreshTokens<U> for RefreshStrategy<S, R>
where
    U: User<Id = S::UserId>,
    S: AccessTokenStore,
    R: RefreshStore<UserId = S::UserId>,
{
    async fn login(&self, user: &U, client: &ClientInfo) -> Result<TokenPair> {
        self.login_with(user, &IssueOptions::new().client(client.clone())).await
    }

    async fn refresh(&self, presented: &str, client: &ClientInfo) -> Result<Refreshed> {
        self.refresh_with(presented, &IssueOptions::new().client(client.clone())).await
    }

    async fn end_family(&self, family: &str) -> Result<u64> {
        RefreshStrategy::end_family(self, family).await
    }

    async fn logout(&self, access_token: &str, user: &U) -> Result<bool> {
        RefreshStrategy::logout(self, access_token, user).await
    }

    async fn end_all(&self, user: &U) -> Result<u64> {
        RefreshStrategy::end_all(self, user.id()).await
    }

    async fn end_session(&self, user: &U, session: &str) -> Result<bool> {
        RefreshStrategy::end_session(self, user.id(), session).await
    }

    async fn end_others(&self, user: &U, access_token: &str) -> Result<u64> {
        RefreshStrategy::end_others(self, user.id(), access_token).await
    }

    fn idle_timeout(&self) -> Duration {
        self.policy().idle()
    }
}

#[async_trait]
impl<U: User, T: RefreshTokens<U> + ?Sized> RefreshTokens<U> for Arc<T> {
    async fn login(&self, user: &U, client: &ClientInfo) -> Result<TokenPair> {
        (**self).login(user, client).await
    }

    async fn refresh(&self, presented: &str, client: &ClientInfo) -> Result<Refreshed> {
        (**self).refresh(presented, client).await
    }

    async fn end_family(&self, family: &str) -> Result<u64> {
        (**self).end_family(family).await
    }

    async fn logout(&self, access_token: &str, user: &U) -> Result<bool> {
        (**self).logout(access_token, user).await
    }

    async fn end_all(&self, user: &U) -> Result<u64> {
        (**self).end_all(user).await
    }

    async fn end_session(&self, user: &U, session: &str) -> Result<bool> {
        (**self).end_session(user, session).await
    }

    async fn end_others(&self, user: &U, access_token: &str) -> Result<u64> {
        (**self).end_others(user, access_token).await
    }

    fn idle_timeout(&self) -> Duration {
        (**self).idle_timeout()
    }
}
