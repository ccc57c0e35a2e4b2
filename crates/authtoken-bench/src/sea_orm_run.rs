//! The SeaORM store on SQLite, PostgreSQL or MySQL/MariaDB: every operation beside its floor,
//! then the revocation propagation, the large-table reads and the purge under load, as asked.

use sea_orm::{ConnectionTrait, Statement};

use crate::args::Args;
use crate::database::FreshDatabase;
use crate::measure::Measurement;
use crate::ops::Bench;
use crate::{cached, floor, purge_load, refresh_bench, schema};

/// Operations for the malformed-token measurement: enough to time a path with no I/O.
const MALFORMED_OPS: usize = 200_000;

/// Runs the SeaORM measurements in `fresh`.
pub async fn run(
    args: &Args,
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
        results.push(refresh_bench::floor_refresh(&bench, concurrency, args.ops).await?);
        results.push(refresh_bench::refresh(&bench, concurrency, args.ops).await?);
        bench.db.close().await?;
    }

    if args.revocations > 0 {
        eprintln!("revocation propagation to a second process, {} times", args.revocations);
        let store =
            authtoken_sea_orm::SeaOrmStore::<schema::token::Entity>::new(fresh.pool(20).await?);
        let mut peer = vec![fresh.url.as_str()];
        if args.no_channel_floor {
            peer.push(cached::NO_TAP);
        }
        let hour = Some(std::time::Duration::from_secs(3600));
        let propagation = cached::propagation_idle_and_loaded(
            || authtoken::DatabaseStrategy::new(store.clone(), hour),
            &peer,
            args.users,
            args.revocations,
        );
        results.extend(propagation.await?);
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
