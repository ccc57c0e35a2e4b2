//! Purge under load: how long a large purge takes, and what it does to concurrent reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure};
use chrono::{TimeDelta, Utc};

use crate::floor;
use crate::measure::{Measurement, summarize};
use crate::ops::{Bench, BenchStore};
use crate::schema::user;

/// What a purge under load did.
pub struct PurgeReport {
    /// Expired rows deleted.
    pub rows: u64,
    /// How long the purge took.
    pub elapsed: Duration,
    /// Reads while the purge ran.
    pub reads_during: Measurement,
}

/// Rows per purge statement.
pub const BATCH: u32 = 1000;

/// Fills `rows` expired rows, then purges them while `concurrency` tasks read `tokens` in a loop.
pub async fn purge_under_load<S: BenchStore>(
    bench: &Bench<S>,
    concurrency: usize,
    rows: usize,
    tokens: Arc<Vec<String>>,
) -> anyhow::Result<PurgeReport> {
    floor::fill(&bench.db, rows, bench.user_count, Utc::now() - TimeDelta::days(2)).await?;
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut readers = Vec::new();
    for task in 0..concurrency {
        let (bench, tokens, done) = (bench.clone(), Arc::clone(&tokens), Arc::clone(&done));
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = task;
            while !done.load(Ordering::Relaxed) {
                let start = Instant::now();
                let found: Option<(user::Model, _)> = bench
                    .strategy
                    .read_token(&tokens[i % tokens.len()], &authtoken::Joined)
                    .await?;
                latencies.push(start.elapsed());
                ensure!(
                    found.map(|(u, _)| u.id) == Some(bench.user(i % tokens.len()).id),
                    "the wrong user during a purge"
                );
                i += concurrency;
            }
            anyhow::Ok(latencies)
        }));
    }
    let batch = std::num::NonZeroU32::new(BATCH).ok_or_else(|| anyhow!("zero batch"))?;
    let purge_started = Instant::now();
    let purged = bench.strategy.purge_expired(batch).await;
    let elapsed = purge_started.elapsed();
    done.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for reader in readers {
        latencies.extend(reader.await??);
    }
    let rows_purged = purged?;
    ensure!(rows_purged >= rows as u64, "purged {rows_purged} of {rows} expired rows");
    let reads_during =
        summarize("read_token_during_purge", concurrency, latencies, started.elapsed());
    Ok(PurgeReport { rows: rows_purged, elapsed, reads_during })
}
