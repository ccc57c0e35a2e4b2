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
mod channel_tap;
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
mod refresh_bench;
mod replica_run;
mod report;
mod schema;
mod sea_orm_run;
mod store_ops;

use clap::Parser;

use crate::database::FreshDatabase;
use crate::measure::Measurement;

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
    match Backend::for_url(&args.database_url, args.orm) {
        Backend::MongoDb => {
            let results = mongodb_run::run(&args).await?;
            report_all(&args, "mongodb", &results, None)
        }
        Backend::Redis(name) => {
            let results = redis_run::run(&args).await?;
            report_all(&args, name, &results, None)
        }
        Backend::Sql(orm) => {
            let fresh = FreshDatabase::create(&args.database_url).await?;
            eprintln!("benchmarking in {} (dropped at the end)", fresh.name());
            if !args.read_urls.is_empty() {
                let outcome = replica_run::run(&args, &fresh, &args.read_urls).await;
                fresh.drop_database().await?;
                let results = outcome?;
                report_all(&args, "replicas", &results, None)?;
                return cross_node::check(&results);
            }
            match (orm, &args.read_url) {
                (args::Orm::Diesel, _) => {
                    let outcome = diesel_run::run(&args, &fresh).await;
                    let backend = format!("{} (diesel)", fresh.backend);
                    fresh.drop_database().await?;
                    report_all(&args, &backend, &outcome?, None)
                }
                (args::Orm::SeaOrm, Some(read_url)) => {
                    let outcome = cross_node::run(&args, &fresh, read_url).await;
                    fresh.drop_database().await?;
                    let results = outcome?;
                    report_all(&args, "galera", &results, None)?;
                    cross_node::check(&results)
                }
                (args::Orm::SeaOrm, None) => {
                    let outcome = sea_orm_run::run(&args, &fresh).await;
                    let backend = fresh.backend;
                    fresh.drop_database().await?;
                    let (results, purge) = outcome?;
                    report_all(&args, backend, &results, purge.as_ref())
                }
            }
        }
    }
}

/// Which run a URL asks for: one module per backend.
enum Backend {
    MongoDb,
    /// One Redis or a cluster, by the name the report uses.
    Redis(&'static str),
    /// SQL through SeaORM or Diesel.
    Sql(args::Orm),
}

impl Backend {
    fn for_url(url: &str, orm: args::Orm) -> Self {
        if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
            Backend::MongoDb
        } else if let Some(name) = redis_backend(url) {
            Backend::Redis(name)
        } else {
            Backend::Sql(orm)
        }
    }
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
