//! The one object-safe trait that transports and web frameworks talk to.
//!
//! [`DatabaseStrategy`] has generic methods (a user loader, a joined store), which `dyn` cannot
//! call. [`AuthStrategy`] fixes the user type and boxes the futures, so strategies over different
//! stores sit side by side as `Arc<dyn AuthStrategy<U>>`.

use std::sync::Arc;

use async_trait::async_trait;

use crate::store::{AccessToken, AccessTokenStore, JoinedUserStore};
use crate::{
    ClientInfo, DatabaseStrategy, IssueOptions, Joined, PlaintextToken, Result, User, UserLoader,
};

/// Reading, issuing and revoking tokens for users of type `U`: what a login route, a logout route
/// and a current-user extractor need.
///
/// Implemented by [`DatabaseStrategy`] over a store that joins tokens with users (one query per
/// request), and by [`WithUsers`] (a strategy plus a [`UserLoader`], two queries). Any other
/// implementation (a cache in front of one of these, a test double) plugs in the same way.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use authtoken::memory::{MemoryStore, MemoryUsers};
/// use authtoken::{AuthStrategy, DatabaseStrategy, User};
///
/// #[derive(Clone)]
/// struct Account { id: u64 }
/// impl User for Account {
///     type Id = u64;
///     fn id(&self) -> &u64 { &self.id }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> authtoken::Result<()> {
/// let users = MemoryUsers::new();
/// users.insert(Account { id: 7 });
/// let sessions = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(3600)))?;
/// let api_keys = DatabaseStrategy::new(MemoryStore::new(), None)?;
///
/// // Two strategies over different stores, behind one type.
/// let strategies: Vec<Arc<dyn AuthStrategy<Account>>> = vec![
///     Arc::new(sessions.with_users(users.clone())),
///     Arc::new(api_keys.with_users(users)),
/// ];
/// let token = strategies[1].write(&Account { id: 7 }).await?;
/// let found = strategies[1].read(token.expose_secret()).await?;
/// assert_eq!(found.map(|(user, _row)| user.id), Some(7));
/// assert!(strategies[0].read(token.expose_secret()).await?.is_none());
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait AuthStrategy<U: User>: Send + Sync {
    /// The user `token` authenticates, with the token's row (its details: scopes, name, own
    /// expiry, for a scope check); `None` for a malformed, unknown or expired token or a missing
    /// user; `Err` when the store or the user loader fails.
    async fn read(&self, token: &str) -> Result<Option<(U, AccessToken<U::Id>)>>;

    /// Issues a new token for `user` and returns its plaintext, the one time it is shown.
    async fn write(&self, user: &U) -> Result<PlaintextToken>;

    /// [`write`](Self::write) for a login from `client`, which the user's sessions page shows
    /// where the store keeps it. The default leaves the client out.
    async fn write_for(&self, user: &U, client: &ClientInfo) -> Result<PlaintextToken> {
        let _ = client;
        self.write(user).await
    }

    /// Revokes `token` if `user` owns it; `true` if a token was revoked.
    async fn destroy(&self, token: &str, user: &U) -> Result<bool>;

    /// Revokes every token of `user` ("log out everywhere"), returning how many went.
    async fn destroy_all(&self, user: &U) -> Result<u64>;
}

/// A [`DatabaseStrategy`] that loads users through a [`UserLoader`]: a two-query read,
/// for stores that cannot join. Made by [`DatabaseStrategy::with_users`].
#[derive(Debug)]
pub struct WithUsers<S: AccessTokenStore, L> {
    /// The token strategy.
    pub strategy: DatabaseStrategy<S>,
    /// Where users come from.
    pub users: L,
}

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// This strategy with a user loader: an [`AuthStrategy`] that reads in two steps (the token's
    /// row, then its user). Stores that join use the strategy itself as the [`AuthStrategy`].
    pub fn with_users<L>(self, users: L) -> WithUsers<S, L>
    where
        L: UserLoader,
        L::User: User<Id = S::UserId>,
    {
        WithUsers { strategy: self, users }
    }
}

#[async_trait]
impl<S, L> AuthStrategy<L::User> for WithUsers<S, L>
where
    S: AccessTokenStore,
    L: UserLoader,
    L::User: User<Id = S::UserId>,
{
    async fn read(&self, token: &str) -> Result<Option<(L::User, AccessToken<S::UserId>)>> {
        self.strategy.read_token(token, &self.users).await
    }

    async fn write(&self, user: &L::User) -> Result<PlaintextToken> {
        self.strategy.write_token(user).await
    }

    async fn write_for(&self, user: &L::User, client: &ClientInfo) -> Result<PlaintextToken> {
        self.strategy.issue_token(user, &IssueOptions::new().client(client.clone())).await
    }

    async fn destroy(&self, token: &str, user: &L::User) -> Result<bool> {
        self.strategy.destroy_token(token, user).await
    }

    async fn destroy_all(&self, user: &L::User) -> Result<u64> {
        self.strategy.destroy_all_tokens(user).await
    }
}

/// The joined read: one query per request.
#[async_trait]
impl<S, U> AuthStrategy<U> for DatabaseStrategy<S>
where
    S: JoinedUserStore<U>,
    U: User<Id = S::UserId>,
{
    async fn read(&self, token: &str) -> Result<Option<(U, AccessToken<S::UserId>)>> {
        self.read_token(token, &Joined).await
    }

    async fn write(&self, user: &U) -> Result<PlaintextToken> {
        self.write_token(user).await
    }

    async fn write_for(&self, user: &U, client: &ClientInfo) -> Result<PlaintextToken> {
        self.issue_token(user, &IssueOptions::new().client(client.clone())).await
    }

    async fn destroy(&self, token: &str, user: &U) -> Result<bool> {
        self.destroy_token(token, user).await
    }

    async fn destroy_all(&self, user: &U) -> Result<u64> {
        self.destroy_all_tokens(user).await
    }
}

#[async_trait]
impl<U: User, T: AuthStrategy<U> + ?Sized> AuthStrategy<U> for Arc<T> {
    async fn read(&self, token: &str) -> Result<Option<(U, AccessToken<U::Id>)>> {
        (**self).read(token).await
    }

    async fn write(&self, user: &U) -> Result<PlaintextToken> {
        (**self).write(user).await
    }

    async fn write_for(&self, user: &U, client: &ClientInfo) -> Result<PlaintextToken> {
        (**self).write_for(user, client).await
    }

    async fn destroy(&self, token: &str, user: &U) -> Result<bool> {
        (**self).destroy(token, user).await
    }

    async fn destroy_all(&self, user: &U) -> Result<u64> {
        (**self).destroy_all(user).await
    }
}
