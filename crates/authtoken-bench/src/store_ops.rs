//! The strategy operations the runs on Redis and MongoDB measure, each beside a floor of the
//! run's own (a bare command through the same client): reads (`read_token`, an unknown token)
//! and writes (a login, a logout, log out everywhere), all checked as they run.
//!
//! Users need no store here: the loader builds the user from its id, so `read_token` times the
//! token lookup alone, as the SQL floor times the row lookup alone.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{anyhow, ensure};
use authtoken::{AccessTokenStore, BoxError, DatabaseStrategy, PlaintextToken, UserLoader};

use crate::measure::{Measurement, measure};
use crate::schema::user;

/// A boxed operation future, as interleaved measurements take them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Users built from their id: no I/O.
pub struct IdUsers;

impl UserLoader for IdUsers {
    type User = user::Model;

    async fn load_user(&self, id: &i64) -> Result<Option<user::Model>, BoxError> {
        Ok(Some(user::Model { id: *id, name: format!("user{id}") }))
    }
}

/// Operation `i`'s user, among `users`.
pub fn user(i: usize, users: usize) -> user::Model {
    let id = (i % users) as i64 + 1;
    user::Model { id, name: format!("user{id}") }
}

/// A strategy over a store with `i64` user ids, and how many users the run spreads over.
pub struct TokenOps<S: AccessTokenStore> {
    pub strategy: Arc<DatabaseStrategy<S>>,
    pub users: usize,
}

impl<S> TokenOps<S>
where
    S: AccessTokenStore<UserId = i64> + 'static,
{
    /// Logs in `count` times, one user after another: the tokens the level reads and revokes.
    pub async fn issue(&self, count: usize) -> anyhow::Result<Arc<Vec<String>>> {
        let mut tokens = Vec::with_capacity(count);
        for i in 0..count {
            tokens.push(self.strategy.write_token(&user(i, self.users)).await?.into_secret());
        }
        Ok(Arc::new(tokens))
    }

    /// `read_token` of `tokens` (each its user's), and of as many unknown tokens.
    pub async fn reads(
        &self,
        concurrency: usize,
        tokens: &Arc<Vec<String>>,
    ) -> anyhow::Result<Vec<Measurement>> {
        let known =
            measure("read_token", concurrency, tokens.len(), self.read_known(tokens)).await?;
        let mut reads = self.reads_of_unknown(concurrency, tokens.len()).await?;
        reads.insert(0, known);
        Ok(reads)
    }

    /// Operation `i`: `read_token` of `tokens[i]`, checked to find its user.
    pub fn read_known(
        &self,
        tokens: &Arc<Vec<String>>,
    ) -> impl Fn(usize) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync + 'static {
        let (strategy, users, read) = (Arc::clone(&self.strategy), self.users, Arc::clone(tokens));
        move |i| {
            let (strategy, token) = (Arc::clone(&strategy), read[i].clone());
            Box::pin(async move {
                let found = strategy.read_token(&token, &IdUsers).await?;
                let found = found.ok_or_else(|| anyhow!("a valid token was refused"))?;
                ensure!(found.0.id == user(i, users).id, "the wrong user");
                Ok(())
            })
        }
    }

    /// `read_token` of `count` unknown tokens, each refused.
    pub async fn reads_of_unknown(
        &self,
        concurrency: usize,
        count: usize,
    ) -> anyhow::Result<Vec<Measurement>> {
        let unknown: Arc<Vec<String>> = Arc::new(
            (0..count)
                .map(|_| PlaintextToken::generate().map(PlaintextToken::into_secret))
                .collect::<Result<_, _>>()?,
        );
        let strategy = Arc::clone(&self.strategy);
        let refused = measure("read_token_unknown", concurrency, count, move |i| {
            let (strategy, token) = (Arc::clone(&strategy), unknown[i].clone());
            async move {
                let found = strategy.read_token(&token, &IdUsers).await?;
                ensure!(found.is_none(), "an unknown token authenticated someone");
                Ok(())
            }
        })
        .await?;
        Ok(vec![refused])
    }

    /// A login per operation, then the logout of each of `tokens`, then log out everywhere.
    pub async fn writes(
        &self,
        concurrency: usize,
        tokens: &Arc<Vec<String>>,
    ) -> anyhow::Result<Vec<Measurement>> {
        let (strategy, users) = (Arc::clone(&self.strategy), self.users);
        let login = measure("write_token", concurrency, tokens.len(), move |i| {
            let strategy = Arc::clone(&strategy);
            async move {
                let token = strategy.write_token(&user(i, users)).await?;
                ensure!(token.expose_secret().len() == 43, "a token of the wrong length");
                Ok(())
            }
        })
        .await?;
        let (strategy, logout) = (Arc::clone(&self.strategy), Arc::clone(tokens));
        let logout = measure("destroy_token", concurrency, tokens.len(), move |i| {
            let (strategy, token) = (Arc::clone(&strategy), logout[i].clone());
            async move {
                ensure!(strategy.destroy_token(&token, &user(i, users)).await?, "logout missed");
                Ok(())
            }
        })
        .await?;
        let strategy = Arc::clone(&self.strategy);
        let everywhere = measure("destroy_all_tokens", concurrency, tokens.len(), move |i| {
            let strategy = Arc::clone(&strategy);
            async move {
                strategy.destroy_all_tokens(&user(i, users)).await?;
                Ok(())
            }
        })
        .await?;
        Ok(vec![login, logout, everywhere])
    }
}
