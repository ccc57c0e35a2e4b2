//! The cross-node run on a MariaDB Galera cluster (`--read-url`): writes go through the node
//! `--database-url` names and reads through the node `--read-url` names, the floor the same way
//! (bare SQL through the same two pools). Beside throughput it counts stale answers: a read
//! through the second node, right after a write through the first returned, that does not yet
//! see the write. The store's causal reads must see none; the bare floor shows what they prevent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, ensure};
use authtoken_sea_orm::SeaOrmStore;
use chrono::Utc;
use sea_orm::sqlx::{self, Row};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::args::Args;
use crate::database::FreshDatabase;
use crate::floor;
use crate::measure::{Measurement, measure};
use crate::ops::Bench;
use crate::schema::{self, user};

/// The operations that must never read stale, whose floors may.
const MUST_BE_CURRENT: [&str; 2] = ["login_then_read", "revoke_then_read"];

/// Runs every cross-node measurement at each concurrency level.
pub async fn run(
    args: &Args,
    fresh: &FreshDatabase,
    read_url: &str,
) -> anyhow::Result<Vec<Measurement>> {
    let setup = fresh.pool(1).await?;
    schema::create(&setup, args.users).await?;
    setup.close().await?;
    let read_db_url = same_database_through(&fresh.url, read_url)?;

    let mut results = Vec::new();
    for &concurrency in &args.concurrency {
        eprintln!("concurrency {concurrency}: writes through one node, reads through another");
        let write_pool = fresh.pool(concurrency as u32).await?;
        let read_pool = connect(&read_db_url, concurrency as u32).await?;
        let writer = galera_bench(write_pool.clone(), args.users).await?;
        let causal = galera_bench(read_pool.clone(), args.users).await?;
        let plain = Bench::with_store(
            read_pool.clone(),
            SeaOrmStore::<schema::token::Entity>::new(read_pool),
            args.users,
        )?;
        let ops = args.ops;

        let tokens = writer.issue(ops).await?;
        let keys = writer.floor_rows(ops).await?;
        causal.warm_up(&tokens, &keys).await?;
        results.push(plain.floor_select("floor_select", concurrency, keys.clone()).await?);
        results.push(floor_select_causal(&plain, concurrency, keys).await?);
        results.push(causal.read_token("read_token", concurrency, tokens.clone()).await?);
        results.push(plain.read_token("read_token_not_causal", concurrency, tokens.clone()).await?);

        results.push(floor_insert_then_select(&writer, &plain, concurrency, ops).await?);
        results.push(login_then_read(&writer, &causal, concurrency, ops).await?);
        let keys = writer.floor_rows(ops).await?;
        results.push(floor_delete_then_select(&writer, &plain, concurrency, keys).await?);
        results.push(revoke_then_read(&writer, &causal, concurrency, tokens).await?);
        writer.db.close().await?;
        plain.db.close().await?;
    }
    Ok(results)
}

/// Fails the run if a causal operation read stale (after the results are printed).
pub fn check(results: &[Measurement]) -> anyhow::Result<()> {
    for m in results.iter().filter(|m| MUST_BE_CURRENT.contains(&m.op.as_str())) {
        let stale = m.stale.unwrap_or_default();
        ensure!(stale == 0, "{} at c={} read stale {stale} times", m.op, m.concurrency);
    }
    Ok(())
}

/// The fresh database's URL with the reading node's host and port.
pub(crate) fn same_database_through(database_url: &str, node_url: &str) -> anyhow::Result<String> {
    let database = url::Url::parse(database_url).context("parsing the database URL")?;
    let mut through = url::Url::parse(node_url).context("parsing --read-url")?;
    through.set_path(database.path());
    Ok(through.to_string())
}

pub(crate) async fn connect(url: &str, connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options.max_connections(connections).min_connections(connections).sqlx_logging(false);
    Database::connect(options).await.with_context(|| format!("connecting to {url}"))
}

/// The SeaORM store as a Galera user runs it: causal reads, detected.
async fn galera_bench(db: DatabaseConnection, users: usize) -> anyhow::Result<Bench> {
    let store = SeaOrmStore::new(db.clone()).detect_galera().await?;
    ensure!(store.causal_reads(), "--read-url needs a MariaDB Galera cluster");
    Bench::with_store(db, store, users)
}

/// The bare read made causal the way the store makes it, to show what causality costs alone.
async fn floor_select_causal(
    plain: &Bench,
    concurrency: usize,
    keys: Arc<Vec<String>>,
) -> anyhow::Result<Measurement> {
    let bench = plain.clone();
    measure("floor_select_causal", concurrency, keys.len(), move |i| {
        let (bench, keys) = (bench.clone(), Arc::clone(&keys));
        async move {
            ensure!(causal_select(&bench.db, &keys[i]).await?, "the floor missed a row");
            Ok(())
        }
    })
    .await
}

async fn causal_select(db: &DatabaseConnection, key: &str) -> anyhow::Result<bool> {
    let row = sqlx::query(
        "SET STATEMENT wsrep_sync_wait=1 FOR SELECT token, user_id, created_at FROM access_token WHERE token = ?",
    )
    .bind(key)
    .fetch_optional(db.get_mysql_connection_pool())
    .await?;
    Ok(match row {
        Some(row) => row.try_get::<String, _>(0)? == key,
        None => false,
    })
}

/// Times `op(i)` and counts the calls for which it returned `true` (a stale read).
async fn measure_stale<F, Fut>(
    name: &str,
    concurrency: usize,
    ops: usize,
    op: F,
) -> anyhow::Result<Measurement>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let stale = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&stale);
    let mut m = measure(name, concurrency, ops, move |i| {
        let (counter, call) = (Arc::clone(&counter), op(i));
        async move {
            if call.await? {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await?;
    m.stale = Some(stale.load(Ordering::Relaxed));
    Ok(m)
}

/// Bare INSERT through the first node, bare SELECT through the second at once.
async fn floor_insert_then_select(
    writer: &Bench,
    reader: &Bench,
    concurrency: usize,
    ops: usize,
) -> anyhow::Result<Measurement> {
    let (writer, reader) = (writer.clone(), reader.clone());
    measure_stale("floor_insert_then_select", concurrency, ops, move |i| {
        let (writer, reader) = (writer.clone(), reader.clone());
        async move {
            let key = authtoken::PlaintextToken::generate()?.into_secret();
            floor::insert(&writer.db, &key, writer.user(i).id, Utc::now()).await?;
            Ok(!floor::select(&reader.db, &key).await?)
        }
    })
    .await
}

/// Login through the first node, the token read through the second at once.
pub(crate) async fn login_then_read(
    writer: &Bench,
    reader: &Bench,
    concurrency: usize,
    ops: usize,
) -> anyhow::Result<Measurement> {
    let (writer, reader) = (writer.clone(), reader.clone());
    measure_stale("login_then_read", concurrency, ops, move |i| {
        let (writer, reader) = (writer.clone(), reader.clone());
        async move {
            let token = writer.strategy.write_token(&writer.user(i)).await?.into_secret();
            let found: Option<(user::Model, _)> =
                reader.strategy.read_token(&token, &authtoken::Joined).await?;
            Ok(found.is_none())
        }
    })
    .await
}

/// Bare DELETE through the first node, bare SELECT through the second at once.
async fn floor_delete_then_select(
    writer: &Bench,
    reader: &Bench,
    concurrency: usize,
    keys: Arc<Vec<String>>,
) -> anyhow::Result<Measurement> {
    let (writer, reader) = (writer.clone(), reader.clone());
    measure_stale("floor_delete_then_select", concurrency, keys.len(), move |i| {
        let (writer, reader, keys) = (writer.clone(), reader.clone(), Arc::clone(&keys));
        async move {
            let deleted = sqlx::query("DELETE FROM access_token WHERE token = ?")
                .bind(&keys[i])
                .execute(writer.db.get_mysql_connection_pool())
                .await?;
            ensure!(deleted.rows_affected() == 1, "the floor's row was not there to delete");
            floor::select(&reader.db, &keys[i]).await
        }
    })
    .await
}

/// Logout through the first node, the token read through the second at once.
pub(crate) async fn revoke_then_read(
    writer: &Bench,
    reader: &Bench,
    concurrency: usize,
    tokens: Arc<Vec<String>>,
) -> anyhow::Result<Measurement> {
    let (writer, reader) = (writer.clone(), reader.clone());
    measure_stale("revoke_then_read", concurrency, tokens.len(), move |i| {
        let (writer, reader, tokens) = (writer.clone(), reader.clone(), Arc::clone(&tokens));
        async move {
            ensure!(
                writer.strategy.destroy_token(&tokens[i], &writer.user(i)).await?,
                "logout missed"
            );
            let found: Option<(user::Model, _)> =
                reader.strategy.read_token(&tokens[i], &authtoken::Joined).await?;
            Ok(found.is_some())
        }
    })
    .await
}
