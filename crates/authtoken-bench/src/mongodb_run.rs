//! The run on MongoDB: each operation beside the bare driver call it stands on, through the same
//! client. A read is one `find_one` by key (floor: a bare `find_one` by `_id` of a document of
//! the same shape); a login one `insert_one` (floor: a bare `insert_one`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use authtoken::DatabaseStrategy;
use authtoken_mongodb::MongoStore;
use authtoken_mongodb::mongodb::bson::{Document, doc};
use authtoken_mongodb::mongodb::{Client, Collection};

use crate::args::Args;
use crate::measure::{Measurement, measure};
use crate::store_ops::{IdUsers, TokenOps, user};

const LIFETIME: Duration = Duration::from_secs(3600);

struct MongoBench {
    ops: TokenOps<MongoStore<i64>>,
    floor: Collection<Document>,
}

impl MongoBench {
    /// A document of the token's shape for the floor, keyed `{kind}:{concurrency}:{i}`.
    fn floor_document(&self, key: String, i: usize) -> Document {
        let now = authtoken_mongodb::mongodb::bson::DateTime::now();
        doc! { "_id": key, "user_id": user(i, self.ops.users).id, "created_at": now }
    }

    async fn level(&self, concurrency: usize, ops: usize) -> anyhow::Result<Vec<Measurement>> {
        let tokens = self.ops.issue(ops).await?;
        for i in 0..ops {
            self.floor
                .insert_one(self.floor_document(format!("read:{concurrency}:{i}"), i))
                .await?;
        }
        // Warm up both paths alike.
        for (i, token) in tokens.iter().enumerate() {
            self.ops.strategy.read_token(token, &IdUsers).await?;
            self.floor.find_one(doc! { "_id": format!("read:{concurrency}:{i}") }).await?;
        }
        let floor = self.floor.clone();
        let mut results = vec![
            measure("floor_find_one", concurrency, ops, move |i| {
                let floor = floor.clone();
                async move {
                    let found = floor.find_one(doc! { "_id": format!("read:{concurrency}:{i}") });
                    ensure!(found.await?.is_some(), "the floor missed a document");
                    Ok(())
                }
            })
            .await?,
        ];
        results.extend(self.ops.reads(concurrency, &tokens).await?);
        let documents: Vec<Document> =
            (0..ops).map(|i| self.floor_document(format!("write:{concurrency}:{i}"), i)).collect();
        let (floor, documents) = (self.floor.clone(), Arc::new(documents));
        results.push(
            measure("floor_insert_one", concurrency, ops, move |i| {
                let (floor, document) = (floor.clone(), documents[i].clone());
                async move {
                    floor.insert_one(document).await?;
                    Ok(())
                }
            })
            .await?,
        );
        results.extend(self.ops.writes(concurrency, &tokens).await?);
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
    let database = Client::with_uri_str(&args.database_url).await?.database(&name);
    let store = MongoStore::<i64>::new(&database);
    store.ensure_indexes().await?;
    let bench = MongoBench {
        ops: TokenOps {
            strategy: Arc::new(DatabaseStrategy::new(store, Some(LIFETIME))?),
            users: args.users,
        },
        floor: database.collection("floor"),
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
