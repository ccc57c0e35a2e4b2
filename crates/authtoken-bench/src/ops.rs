//! Each measured operation, checked for correctness while it is timed.

use std::sync::Arc;

use anyhow::{anyhow, ensure};
use authtoken::{AccessTokenStore, DatabaseStrategy, JoinedUserStore, PurgeExpired, User};
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers};
use chrono::Utc;
use sea_orm::DatabaseConnection;

use crate::floor;
use crate::measure::{Measurement, measure};
use crate::schema::{token, user};

/// What the benchmark needs of the store under test: the joined read and purging. The operations
/// are written against these traits, so any store that has them can be measured.
pub trait BenchStore: JoinedUserStore<user::Model> + PurgeExpired<UserId = i64> + 'static {}

impl<S> BenchStore for S where S: JoinedUserStore<user::Model> + PurgeExpired<UserId = i64> + 'static
{}

/// What every operation works on: one pool (for the floor), and a strategy over the store under
/// test (by default the SeaORM store over the same pool).
pub struct Bench<S: AccessTokenStore = SeaOrmStore<token::Entity>> {
    /// The pool (as many connections as tasks).
    pub db: DatabaseConnection,
    /// The strategy under test.
    pub strategy: Arc<DatabaseStrategy<S>>,
    /// The loader for the two-query read.
    pub users: Arc<SeaOrmUsers<user::Entity>>,
    /// How many users exist (ids `1..=users`).
    pub user_count: usize,
}

impl<S: AccessTokenStore> Clone for Bench<S> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            strategy: Arc::clone(&self.strategy),
            users: Arc::clone(&self.users),
            user_count: self.user_count,
        }
    }
}

impl Bench {
    /// The SeaORM store's strategy and the loader over `db`.
    pub fn new(db: DatabaseConnection, user_count: usize) -> anyhow::Result<Self> {
        let store = SeaOrmStore::<token::Entity>::new(db.clone());
        Self::with_store(db, store, user_count)
    }
}

impl<S: BenchStore> Bench<S> {
    /// A strategy over `store`, measured beside the floor on `db`.
    pub fn with_store(db: DatabaseConnection, store: S, user_count: usize) -> anyhow::Result<Self> {
        let strategy = DatabaseStrategy::new(store, Some(std::time::Duration::from_secs(3600)))?;
        let users = SeaOrmUsers::new(db.clone());
        Ok(Self { db, strategy: Arc::new(strategy), users: Arc::new(users), user_count })
    }

    /// The `i`-th operation's user (only its id matters to the strategy).
    pub fn user(&self, i: usize) -> user::Model {
        user::Model { id: (i % self.user_count) as i64 + 1, name: String::new() }
    }

    /// Issues one token for each of `count` users, untimed: fixtures for reads and logouts.
    pub async fn issue(&self, count: usize) -> anyhow::Result<Arc<Vec<String>>> {
        let mut tokens = Vec::with_capacity(count);
        for i in 0..count {
            tokens.push(self.strategy.write_token(&self.user(i)).await?.into_secret());
        }
        Ok(Arc::new(tokens))
    }

    /// Login.
    pub async fn write_token(&self, concurrency: usize, ops: usize) -> anyhow::Result<Measurement> {
        let bench = self.clone();
        measure("write_token", concurrency, ops, move |i| {
            let bench = bench.clone();
            async move {
                let token = bench.strategy.write_token(&bench.user(i)).await?;
                ensure!(token.expose_secret().len() == 43, "a token of the wrong length");
                Ok(())
            }
        })
        .await
    }

    /// The floor under login: a bare single-row INSERT.
    pub async fn floor_insert(
        &self,
        concurrency: usize,
        ops: usize,
    ) -> anyhow::Result<Measurement> {
        let keys = Arc::new((0..ops).map(|_| random_key()).collect::<anyhow::Result<Vec<_>>>()?);
        let bench = self.clone();
        measure("floor_insert", concurrency, ops, move |i| {
            let (bench, keys) = (bench.clone(), Arc::clone(&keys));
            async move { floor::insert(&bench.db, &keys[i], bench.user(i).id, Utc::now()).await }
        })
        .await
    }

    /// A request: a valid token turned into its user, in one query (token joined with user).
    pub async fn read_token(
        &self,
        name: &str,
        concurrency: usize,
        tokens: Arc<Vec<String>>,
    ) -> anyhow::Result<Measurement> {
        let bench = self.clone();
        measure(name, concurrency, tokens.len(), move |i| {
            let (bench, tokens) = (bench.clone(), Arc::clone(&tokens));
            async move {
                let found: Option<(user::Model, _)> =
                    bench.strategy.read_token(&tokens[i], &authtoken::Joined).await?;
                let (found, _) = found.ok_or_else(|| anyhow!("a valid token was refused"))?;
                ensure!(
                    found.id == bench.user(i).id && found.name == format!("user{}", found.id),
                    "the wrong user"
                );
                Ok(())
            }
        })
        .await
    }

    /// The same request the reference's way: the token, then the user by a second query.
    pub async fn read_token_two_queries(
        &self,
        concurrency: usize,
        tokens: Arc<Vec<String>>,
    ) -> anyhow::Result<Measurement> {
        let bench = self.clone();
        measure("read_token_2q", concurrency, tokens.len(), move |i| {
            let (bench, tokens) = (bench.clone(), Arc::clone(&tokens));
            async move {
                let found = bench.strategy.read_token(&tokens[i], bench.users.as_ref()).await?;
                ensure!(found.map(|(u, _)| *u.id()) == Some(bench.user(i).id), "the wrong user");
                Ok(())
            }
        })
        .await
    }

    /// A well-formed token nobody issued.
    pub async fn read_token_unknown(
        &self,
        concurrency: usize,
        ops: usize,
    ) -> anyhow::Result<Measurement> {
        let unknown = Arc::new((0..ops).map(|_| random_key()).collect::<anyhow::Result<Vec<_>>>()?);
        let bench = self.clone();
        measure("read_token_unknown", concurrency, ops, move |i| {
            let (bench, unknown) = (bench.clone(), Arc::clone(&unknown));
            async move {
                let found: Option<(user::Model, _)> =
                    bench.strategy.read_token(&unknown[i], &authtoken::Joined).await?;
                ensure!(found.is_none(), "an unknown token authenticated someone");
                Ok(())
            }
        })
        .await
    }

    /// Garbage: refused before any query.
    pub async fn read_token_malformed(
        &self,
        concurrency: usize,
        ops: usize,
    ) -> anyhow::Result<Measurement> {
        let bench = self.clone();
        measure("read_token_malformed", concurrency, ops, move |i| {
            let bench = bench.clone();
            async move {
                let garbage = if i % 2 == 0 {
                    "not-a-token"
                } else {
                    "' OR 1=1 --                                 "
                };
                let found: Option<(user::Model, _)> =
                    bench.strategy.read_token(garbage, &authtoken::Joined).await?;
                ensure!(found.is_none(), "garbage authenticated someone");
                Ok(())
            }
        })
        .await
    }

    /// Rows for the floor to select, inserted untimed; their keys.
    pub async fn floor_rows(&self, count: usize) -> anyhow::Result<Arc<Vec<String>>> {
        let keys = (0..count).map(|_| random_key()).collect::<anyhow::Result<Vec<_>>>()?;
        for (i, key) in keys.iter().enumerate() {
            floor::insert(&self.db, key, self.user(i).id, Utc::now()).await?;
        }
        Ok(Arc::new(keys))
    }

    /// Reads every token and floor row once, untimed, so that neither measurement pays for
    /// cold caches and fresh connections that the other does not.
    pub async fn warm_up(&self, tokens: &[String], keys: &[String]) -> anyhow::Result<()> {
        for (token, key) in tokens.iter().zip(keys) {
            let _: Option<(user::Model, _)> =
                self.strategy.read_token(token, &authtoken::Joined).await?;
            floor::select(&self.db, key).await?;
        }
        Ok(())
    }

    /// The floor under a request: a bare primary-key SELECT of an existing row.
    pub async fn floor_select(
        &self,
        name: &str,
        concurrency: usize,
        keys: Arc<Vec<String>>,
    ) -> anyhow::Result<Measurement> {
        let bench = self.clone();
        measure(name, concurrency, keys.len(), move |i| {
            let (bench, keys) = (bench.clone(), Arc::clone(&keys));
            async move {
                ensure!(floor::select(&bench.db, &keys[i]).await?, "the floor missed a row");
                Ok(())
            }
        })
        .await
    }

    /// Logout.
    pub async fn destroy_token(
        &self,
        concurrency: usize,
        tokens: Arc<Vec<String>>,
    ) -> anyhow::Result<Measurement> {
        let bench = self.clone();
        measure("destroy_token", concurrency, tokens.len(), move |i| {
            let (bench, tokens) = (bench.clone(), Arc::clone(&tokens));
            async move {
                ensure!(
                    bench.strategy.destroy_token(&tokens[i], &bench.user(i)).await?,
                    "logout missed"
                );
                Ok(())
            }
        })
        .await
    }

    /// Log out everywhere (each user holds a token or two when the run starts).
    pub async fn destroy_all_tokens(
        &self,
        concurrency: usize,
        ops: usize,
    ) -> anyhow::Result<Measurement> {
        let bench = self.clone();
        measure("destroy_all_tokens", concurrency, ops, move |i| {
            let bench = bench.clone();
            async move {
                bench.strategy.destroy_all_tokens(&bench.user(i)).await?;
                Ok(())
            }
        })
        .await
    }
}

/// A well-formed key that no token hashes to in practice.
fn random_key() -> anyhow::Result<String> {
    Ok(authtoken::PlaintextToken::generate()?.into_secret())
}
