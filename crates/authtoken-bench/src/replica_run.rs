//! The replica run on PostgreSQL (`--read-urls`): the SeaORM store reading tokens on streaming
//! standbys (`with_read_replicas`) beside the same store on the primary alone, and the rounds
//! that must never read stale (a login read right after it, a revoke read right after it),
//! which fail the run if one does.

use std::time::Duration;

use anyhow::Context;
use authtoken_sea_orm::SeaOrmStore;
use sea_orm::DatabaseConnection;

use crate::args::Args;
use crate::cross_node::{connect, login_then_read, revoke_then_read, same_database_through};
use crate::database::FreshDatabase;
use crate::measure::Measurement;
use crate::ops::Bench;
use crate::schema;

/// Runs every replica measurement at each concurrency level.
pub async fn run(
    args: &Args,
    fresh: &FreshDatabase,
    read_urls: &[String],
) -> anyhow::Result<Vec<Measurement>> {
    let setup = fresh.pool(1).await?;
    schema::create(&setup, args.users).await?;
    setup.close().await?;

    let mut results = Vec::new();
    for &concurrency in &args.concurrency {
        eprintln!("concurrency {concurrency}: token reads on {} standbys", read_urls.len());
        let primary = Bench::new(fresh.pool(concurrency as u32).await?, args.users)?;
        let mut standbys = Vec::new();
        for url in read_urls {
            standbys
                .push(standby_pool(&same_database_through(&fresh.url, url)?, concurrency).await?);
        }
        let store = SeaOrmStore::<schema::token::Entity>::new(primary.db.clone())
            .with_read_replicas(standbys)
            .await
            .context("the standbys of --read-urls")?;
        let replicas = Bench::with_store(primary.db.clone(), store, args.users)?;

        let tokens = primary.issue(args.ops).await?;
        let keys = primary.floor_rows(args.ops).await?;
        // Settled tokens: what most requests present. A moment for the standbys to replay them.
        tokio::time::sleep(Duration::from_millis(500)).await;
        replicas.warm_up(&tokens, &keys).await?;
        let before = replicas.strategy.store().replica_stats();
        results.push(primary.read_token("read_token", concurrency, tokens.clone()).await?);
        let on_standbys = replicas.read_token("read_token_replicas", concurrency, tokens.clone());
        results.push(on_standbys.await?);
        let after = replicas.strategy.store().replica_stats();
        eprintln!(
            "  standbys answered {} reads, the primary {}",
            after.served - before.served,
            after.to_primary - before.to_primary
        );
        results.push(login_then_read(&primary, &replicas, concurrency, args.ops).await?);
        results.push(revoke_then_read(&primary, &replicas, concurrency, tokens).await?);
        primary.db.close().await?;
    }
    Ok(results)
}

/// A pool on a standby's copy of the fresh database, once it has replayed its creation.
async fn standby_pool(url: &str, connections: usize) -> anyhow::Result<DatabaseConnection> {
    let mut last = None;
    for _ in 0..100 {
        match connect(url, connections as u32).await {
            Ok(pool) => return Ok(pool),
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no standby at {url}")))
}
