//! The run on MongoDB: each operation beside the bare driver call it stands on, through the same
//! client. A read is one `find_one` by key (floor: a bare `find_one` by `_id` of a document of
//! the same shape); a login one `insert_one` (floor: a bare `insert_one`).
//!
//! Users need no store here: the loader builds the user from its id, so `read_token` times the
//! token lookup alone, as the SQL floor times the row lookup alone.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, ensure};
use authtoken::{BoxError, DatabaseStrategy, PlaintextToken, UserLoader};
use authtoken_mongodb::MongoStore;
use authtoken_mongodb::mongodb::bson::{Document, doc};
use authtoken_mongodb::mongodb::{Collection, Database};

use crate::args::Args;
use crate::measure::{Measurement, measure};
use crate::schema::user;

const LIFETIME: Duration = Duration::from_secs(3600);

/// Users built from their id: no I/O.
struct IdUsers;

impl UserLoader for IdUsers {
    type User = user::Model;

    async fn load_user(&self, id: &i64) -> Result<Option<user::Model>, BoxError> {
        Ok(Some(user::Model { id: *id, name: format!("user{id}") }))
    }
}

#[derive(Clone)]
struct MongoBench {
    strategy: Arc<DatabaseStrategy<MongoStore<i64>>>,
    floor: Collection<Document>,
    users: usize,
}

impl MongoBench {
    fn user(&self, i: usize) -> user::Model {
        let id = (i % self.users) as i64 + 1;
        user::Model { id, name: format!("user{id}") }
    }

    fn floor_document(&self, key: String, i: usize) -> Document {
        let now = authtoken_mongodb::mongodb::bson::DateTime::now();
        doc! { "_id": key, "user_id": self.user(i).id, "created_at": now }
    }

    async fn measure<F, Fut>(
        &self,
        name: &str,
        concurrency: usize,
        ops: usize,
        op: F,
    ) -> anyhow::Result<Measurement>
    where
        F: Fn(MongoBench, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send,
    {
        let bench = self.clone();
        measure(name, concurrency, ops, move |i| op(bench.clone(), i)).await
    }

    async fn level(&self, concurrency: usize, ops: usize) -> anyhow::Result<Vec<Measurement>> {
        let mut tokens = Vec::with_capacity(ops);
        for i in 0..ops {
            tokens.push(self.strategy.write_token(&self.user(i)).await?.into_secret());
            self.floor
                .insert_one(self.floor_document(format!("read:{concurrency}:{i}"), i))
                .await?;
        }
        let tokens = Arc::new(tokens);
        // Warm up both paths alike.
        for (i, token) in tokens.iter().enumerate() {
            self.strategy.read_token(Some(token), &IdUsers).await?;
            self.floor.find_one(doc! { "_id": format!("read:{concurrency}:{i}") }).await?;
        }
        let mut results = Vec::new();
        results.push(
            self.measure("floor_find_one", concurrency, ops, move |b, i| async move {
                let found =
                    b.floor.find_one(doc! { "_id": format!("read:{concurrency}:{i}") }).await?;
                ensure!(found.is_some(), "the floor missed a document");
                Ok(())
            })
            .await?,
        );
        let read = Arc::clone(&tokens);
        results.push(
            self.measure("read_token", concurrency, ops, move |b, i| {
                let token = read[i].clone();
                async move {
                    let found = b.strategy.read_token(Some(&token), &IdUsers).await?;
                    let found = found.ok_or_else(|| anyhow!("a valid token was refused"))?;
                    ensure!(found.id == b.user(i).id, "the wrong user");
                    Ok(())
                }
            })
            .await?,
        );
        let unknown: Arc<Vec<String>> = Arc::new(
            (0..ops)
                .map(|_| PlaintextToken::generate().map(PlaintextToken::into_secret))
                .collect::<Result<_, _>>()?,
        );
        results.push(
            self.measure("read_token_unknown", concurrency, ops, move |b, i| {
                let token = unknown[i].clone();
                async move {
                    let found = b.strategy.read_token(Some(&token), &IdUsers).await?;
                    ensure!(found.is_none(), "an unknown token authenticated someone");
                    Ok(())
                }
            })
            .await?,
        );
        results.push(
            self.measure("floor_insert_one", concurrency, ops, move |b, i| async move {
                let key = format!("write:{concurrency}:{i}");
                b.floor.insert_one(b.floor_document(key, i)).await?;
                Ok(())
            })
            .await?,
        );
        results.push(
            self.measure("write_token", concurrency, ops, |b, i| async move {
                let token = b.strategy.write_token(&b.user(i)).await?;
                ensure!(token.expose_secret().len() == 43, "a token of the wrong length");
                Ok(())
            })
            .await?,
        );
        let logout = Arc::clone(&tokens);
        results.push(
            self.measure("destroy_token", concurrency, ops, move |b, i| {
                let token = logout[i].clone();
                async move {
                    ensure!(b.strategy.destroy_token(&token, &b.user(i)).await?, "logout missed");
                    Ok(())
                }
            })
            .await?,
        );
        results.push(
            self.measure("destroy_all_tokens", concurrency, ops, |b, i| async move {
                b.strategy.destroy_all_tokens(&b.user(i)).await?;
                Ok(())
            })
            .await?,
        );
        Ok(results)
    }
}

/// The whole run on the MongoDB server of `args.database_url`, in a database of its own
/// (dropped at the end).
pub async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    ensure!(
        args.tokens == 0 && args.purge_rows == 0,
        "--tokens and --purge-rows measure SQL tables; run them on a SQL database"
    );
    let name = format!("authtoken_bench_{}", uuid::Uuid::new_v4().simple());
    eprintln!("benchmarking in database {name} (dropped at the end)");
    let client = authtoken_mongodb::mongodb::Client::with_uri_str(&args.database_url).await?;
    let database: Database = client.database(&name);
    let store = MongoStore::<i64>::new(&database);
    store.ensure_indexes().await?;
    let bench = MongoBench {
        strategy: Arc::new(DatabaseStrategy::new(store, Some(LIFETIME))?),
        floor: database.collection("floor"),
        users: args.users,
    };
    let mut results = Vec::new();
    let mut failure = None;
    for &concurrency in &args.concurrency {
        eprintln!("concurrency {concurrency}");
        match bench.level(concurrency, args.ops).await {
            Ok(level) => results.extend(level),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    database.drop().await?;
    failure.map_or(Ok(results), Err)
}
