//! `authtoken-bench`: each strategy operation timed beside the bare SQL (or Redis command) it
//! stands on, on SQLite, PostgreSQL, MySQL/MariaDB, one Redis, a Redis Cluster or MongoDB, checked for
//! correctness while it runs.
//!
//! `cargo run --release -p authtoken-bench -- --database-url URL [--users 1000] [--ops 5000]
//! [--concurrency 1,16] [--tokens 1000000] [--purge-rows 1000000] [--json] [--chart FILE.svg]`
//!
//! `--orm diesel` measures the Diesel store instead of the SeaORM one, on the same tables, each
//! read beside the same primary-key `SELECT` written with Diesel's query builder on the same pool.
//!
//! On a MariaDB Galera cluster, `--read-url mysql://OTHER-NODE/…` runs the cross-node mode
//! instead: writes through one node, reads through the other, stale reads counted.
//!
//! URL: `sqlite://FILE`, `postgres://…`, `mysql://…`, `redis://…`,
//! `redis+cluster://host:port,host:port,…` or `mongodb://host:port` (a database of the run's
//! own is created and dropped).

mod args;
mod cached;
mod chart;
mod cross_node;
mod database;
mod diesel_run;
mod floor;
mod measure;
mod mongodb_run;
mod ops;
mod purge_load;
mod redis_run;
mod report;
mod schema;
mod store_ops;

use clap::Parser;
use sea_orm::{ConnectionTrait, Statement};

use crate::database::FreshDatabase;
use crate::measure::Measurement;
use crate::ops::Bench;

/// Operations for the malformed-token measurement: enough to time a path with no I/O.
const MALFORMED_OPS: usize = 200_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(cached::PEER_FLAG) {
        return cached::peer_main(&argv[2..]).await;
    }
    let args = args::Args::parse();
    anyhow::ensure!(args.users > 0 && args.ops > 0, "--users and --ops must be positive");
    anyhow::ensure!(args.concurrency.iter().all(|&c| c > 0), "concurrency levels must be positive");
    let sql =
        !args.database_url.starts_with("mongodb") && redis_backend(&args.database_url).is_none();
    anyhow::ensure!(sql || args.orm == args::Orm::SeaOrm, "--orm diesel is for SQL databases");
    if args.database_url.starts_with("mongodb://")
        || args.database_url.starts_with("mongodb+srv://")
    {
        let results = mongodb_run::run(&args).await?;
        report_all(&args, "mongodb", &results, None)?;
        return Ok(());
    }
    if let Some(backend) = redis_backend(&args.database_url) {
        let results = redis_run::run(&args).await?;
        report_all(&args, backend, &results, None)?;
        return Ok(());
    }
    let fresh = FreshDatabase::create(&args.database_url).await?;
    eprintln!("benchmarking in {} (dropped at the end)", fresh.name());
    if args.orm == args::Orm::Diesel {
        let outcome = diesel_run::run(&args, &fresh).await;
        let backend = format!("{} (diesel)", fresh.backend);
        fresh.drop_database().await?;
        return report_all(&args, &backend, &outcome?, None);
    }
    if let Some(read_url) = &args.read_url {
        let outcome = cross_node::run(&args, &fresh, read_url).await;
        fresh.drop_database().await?;
        let results = outcome?;
        report_all(&args, "galera", &results, None)?;
        return cross_node::check(&results);
    }
    let outcome = run(&args, &fresh).await;
    let backend = fresh.backend;
    fresh.drop_database().await?;
    let (results, purge) = outcome?;
    report_all(&args, backend, &results, purge.as_ref())
}

/// The backend's name for a Redis URL; `None` for SQL.
fn redis_backend(url: &str) -> Option<&'static str> {
    if url.starts_with("redis+cluster://") {
        Some("cluster")
    } else if url.starts_with("redis://") || url.starts_with("rediss://") {
        Some("redis")
    } else {
        None
    }
}

/// Prints the results (a table or JSON) and draws the chart if asked.
fn report_all(
    args: &args::Args,
    backend: &str,
    results: &[Measurement],
    purge: Option<&purge_load::PurgeReport>,
) -> anyhow::Result<()> {
    if args.json {
        report::json(backend, results, purge);
    } else {
        report::table(backend, results, purge);
    }
    if let Some(path) = &args.chart {
        chart::write(path, backend, results)?;
        eprintln!("chart written to {}", path.display());
    }
    Ok(())
}

async fn run(
    args: &args::Args,
    fresh: &FreshDatabase,
) -> anyhow::Result<(Vec<Measurement>, Option<purge_load::PurgeReport>)> {
    let setup = fresh.pool(1).await?;
    schema::create(&setup, args.users).await?;
    setup.close().await?;

    let mut results = Vec::new();
    for &concurrency in &args.concurrency {
        eprintln!("concurrency {concurrency}");
        let bench = Bench::new(fresh.pool(concurrency as u32).await?, args.users)?;
        // Reads first, on a table no write has just disturbed, each beside the floor it is
        // compared with; then the writes.
        let tokens = bench.issue(args.ops).await?;
        let floor_keys = bench.floor_rows(args.ops).await?;
        bench.warm_up(&tokens, &floor_keys).await?;
        results.push(bench.floor_select("floor_select", concurrency, floor_keys.clone()).await?);
        results.push(bench.read_token("read_token", concurrency, tokens.clone()).await?);
        let pool = fresh.pool(concurrency as u32).await?;
        let cached = cached::read_token_cached(pool, args.users, concurrency, tokens.clone());
        results.push(cached.await?);
        results.push(bench.read_token_two_queries(concurrency, tokens.clone()).await?);
        results.push(bench.read_token_unknown(concurrency, args.ops).await?);
        results.push(bench.read_token_malformed(concurrency, MALFORMED_OPS.max(args.ops)).await?);
        results.push(bench.floor_insert(concurrency, args.ops).await?);
        results.push(bench.write_token(concurrency, args.ops).await?);
        results.push(bench.destroy_token(concurrency, tokens).await?);
        bench.issue(args.ops.min(args.users)).await?;
        results.push(bench.destroy_all_tokens(concurrency, args.ops).await?);
        bench.db.close().await?;
    }

    if args.revocations > 0 {
        eprintln!("revocation propagation to a second process, {} times", args.revocations);
        let store =
            authtoken_sea_orm::SeaOrmStore::<schema::token::Entity>::new(fresh.pool(2).await?);
        let strategy =
            authtoken::DatabaseStrategy::new(store, Some(std::time::Duration::from_secs(3600)))?;
        let peer = [fresh.url.as_str()];
        let propagation =
            cached::revocation_propagation(strategy, &peer, args.users, args.revocations);
        results.push(propagation.await?);
    }

    let widest = args.concurrency.iter().copied().max().unwrap_or(1);
    if args.tokens > 0 {
        let bench = Bench::new(fresh.pool(widest as u32).await?, args.users)?;
        let tokens = bench.issue(args.ops).await?;
        let floor_keys = bench.floor_rows(args.ops).await?;
        let small = count_rows(&bench).await?;
        // Measure at the small size, fill, measure again: the same tokens and keys each time.
        for target in [small, args.tokens.max(small)] {
            let rows = count_rows(&bench).await?;
            if target > rows {
                eprintln!("filling to {target} rows");
                floor::fill(&bench.db, target - rows, args.users, chrono::Utc::now()).await?;
            }
            let rows = count_rows(&bench).await?;
            bench.warm_up(&tokens, &floor_keys).await?;
            for concurrency in [1, widest] {
                let floor = format!("floor_select@{rows}");
                results.push(bench.floor_select(&floor, concurrency, floor_keys.clone()).await?);
                let read = format!("read_token@{rows}");
                results.push(bench.read_token(&read, concurrency, tokens.clone()).await?);
            }
        }
        bench.db.close().await?;
    }

    let mut purge = None;
    if args.purge_rows > 0 {
        let bench = Bench::new(fresh.pool(widest as u32 + 1).await?, args.users)?;
        let tokens = bench.issue(args.ops).await?;
        results.push(bench.read_token("read_token_before_purge", widest, tokens.clone()).await?);
        eprintln!("purging {} expired rows under load", args.purge_rows);
        let report = purge_load::purge_under_load(&bench, widest, args.purge_rows, tokens).await?;
        results.push(report.reads_during.clone());
        purge = Some(report);
        bench.db.close().await?;
    }
    Ok((results, purge))
}

async fn count_rows(bench: &Bench) -> anyhow::Result<usize> {
    let backend = bench.db.get_database_backend();
    let statement = Statement::from_string(backend, "SELECT COUNT(*) AS n FROM access_token");
    let row =
        bench.db.query_one_raw(statement).await?.ok_or_else(|| anyhow::anyhow!("no count"))?;
    let rows: i64 = row.try_get("", "n")?;
    Ok(usize::try_from(rows)?)
}
