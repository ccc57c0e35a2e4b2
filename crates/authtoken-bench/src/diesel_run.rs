//! The run through the Diesel store (`--orm diesel`), on the same fresh database and tables as
//! the SeaORM run: each operation beside the bare Diesel query it stands on, through the same
//! pool. A read is the store's one `SELECT` by key (floor: the same primary-key `SELECT` written
//! with Diesel's query builder, a statement the connection prepares once); the two are timed in
//! alternating slices, so that a drift in the machine's speed weighs on both alike.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use authtoken::{AccessToken, AccessTokenStore, DatabaseStrategy};
use authtoken_diesel::sql_types::BigInt;
use authtoken_diesel::{
    AsyncMysqlConnection, AsyncPgConnection, DieselStore, IdOn, SqliteConnection, StoreConnection,
};

use crate::args::Args;
use crate::database::FreshDatabase;
use crate::measure::{Measurement, interleaved};
use crate::store_ops::{TokenOps, user};

const LIFETIME: Duration = Duration::from_secs(3600);

/// The floor and `read_token` take turns in this many slices each (see [`interleaved`]).
const SLICES: usize = 10;

/// The token table of the benchmark's schema, as Diesel sees it.
mod table {
    authtoken_diesel::access_token_table!(access_token, user_id = BigInt);
}

type Store<C> = DieselStore<table::access_token::table, C>;

/// A connection the floor runs on: the bare primary-key `SELECT` through Diesel's query builder.
trait Floor: StoreConnection + IdOn<BigInt> {
    /// Whether the row of `key` exists (and is the row of `key`).
    fn select(pool: &Self::Pool, key: String) -> impl Future<Output = anyhow::Result<bool>> + Send;
}

macro_rules! floor {
    ($connection:ty) => {
        impl Floor for $connection {
            async fn select(pool: &Self::Pool, key: String) -> anyhow::Result<bool> {
                use diesel::{OptionalExtension, QueryDsl};
                use diesel_async::RunQueryDsl;
                let mut conn = pool.get().await?;
                let row: Option<(String, i64, chrono::DateTime<chrono::Utc>)> =
                    table::access_token::table.find(&key).get_result(&mut conn).await.optional()?;
                if let Some((token, ..)) = &row {
                    ensure!(*token == key, "the floor read another row");
                }
                Ok(row.is_some())
            }
        }
    };
}

floor!(AsyncPgConnection);
floor!(AsyncMysqlConnection);
floor!(SqliteConnection);

/// The whole run through the Diesel store on `fresh` (its tables made as for the SeaORM run).
pub async fn run(args: &Args, fresh: &FreshDatabase) -> anyhow::Result<Vec<Measurement>> {
    ensure!(
        args.tokens == 0 && args.purge_rows == 0 && args.read_url.is_none(),
        "--tokens, --purge-rows and --read-url measure the SeaORM store; leave out --orm diesel"
    );
    let setup = fresh.pool(1).await?;
    crate::schema::create(&setup, args.users).await?;
    setup.close().await?;
    match fresh.backend {
        "postgres" => run_on::<AsyncPgConnection>(args, &fresh.url).await,
        "mysql" => run_on::<AsyncMysqlConnection>(args, &fresh.url).await,
        _ => run_on::<SqliteConnection>(args, &fresh.url).await,
    }
}

async fn run_on<C: Floor>(args: &Args, url: &str) -> anyhow::Result<Vec<Measurement>> {
    let mut results = Vec::new();
    for &concurrency in &args.concurrency {
        eprintln!("concurrency {concurrency}");
        let pool = authtoken_diesel::connect::<C>(url, concurrency).await?;
        let store = Store::<C>::new(pool.clone());
        let ops = TokenOps {
            strategy: Arc::new(DatabaseStrategy::new(store.clone(), Some(LIFETIME))?),
            users: args.users,
        };
        let tokens = ops.issue(args.ops).await?;
        let floor_key = move |i: usize| format!("floor:{concurrency}:{i}");
        for i in 0..args.ops {
            let row = AccessToken::new(floor_key(i), user(i, args.users).id, chrono::Utc::now());
            store.create(row, None).await?;
        }
        // Warm up both paths alike.
        for (i, token) in tokens.iter().enumerate() {
            ops.strategy.read_token(token, &crate::store_ops::IdUsers).await?;
            ensure!(C::select(&pool, floor_key(i)).await?, "the floor missed a row");
        }
        let floor_pool = pool.clone();
        let floor = move |i| {
            let pool = floor_pool.clone();
            async move {
                ensure!(C::select(&pool, floor_key(i)).await?, "the floor missed a row");
                Ok(())
            }
        };
        let names = ["floor_select", "read_token"];
        let read = ops.read_known(&tokens);
        results.extend(interleaved(names, concurrency, args.ops, SLICES, floor, read).await?);
        results.extend(ops.reads_of_unknown(concurrency, args.ops).await?);
        results.extend(ops.writes(concurrency, &tokens).await?);
    }
    Ok(results)
}
