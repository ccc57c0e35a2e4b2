//! Runs an operation `ops` times over N tasks and reduces the timings to throughput and latency.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One operation at one concurrency level.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The operation's name.
    pub op: String,
    /// Tasks (and pool connections).
    pub concurrency: usize,
    /// Operations timed.
    pub ops: usize,
    /// Operations per second of wall time.
    pub ops_per_sec: f64,
    /// Median latency.
    pub p50_us: f64,
    /// 99th-percentile latency.
    pub p99_us: f64,
    /// Reads that did not yet see a write another node had returned (cross-node run only).
    pub stale: Option<u64>,
}

/// Calls `op(i)` for every `i` in `0..ops`, spread over `concurrency` tasks, timing each call.
/// Any call's error (a failed correctness check included) ends the measurement with that error.
pub async fn measure<F, Fut>(
    name: &str,
    concurrency: usize,
    ops: usize,
    op: F,
) -> anyhow::Result<Measurement>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let (latencies, wall) = run(concurrency, ops, op).await?;
    Ok(summarize(name, concurrency, latencies, wall))
}

/// Two operations, each called for every `i` in `0..ops`, timed in alternating slices (a
/// slice of `a`, a slice of `b`, then `b` first in the next pair, …): a machine whose speed
/// drifts during the run (a shared host, a background vacuum) then slows both alike, where
/// timing one after the other would credit the drift to whichever ran in the slow moment.
/// Each one's timings and wall time are summed over its slices.
pub async fn interleaved<A, FutA, B, FutB>(
    names: [&str; 2],
    concurrency: usize,
    ops: usize,
    slices: usize,
    a: A,
    b: B,
) -> anyhow::Result<[Measurement; 2]>
where
    A: Fn(usize) -> FutA + Send + Sync + 'static,
    FutA: Future<Output = anyhow::Result<()>> + Send,
    B: Fn(usize) -> FutB + Send + Sync + 'static,
    FutB: Future<Output = anyhow::Result<()>> + Send,
{
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut timings = [(Vec::new(), Duration::ZERO), (Vec::new(), Duration::ZERO)];
    let slices = slices.clamp(1, ops.max(1));
    for slice in 0..slices {
        let start = slice * ops / slices;
        let len = (slice + 1) * ops / slices - start;
        let order = if slice % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let (latencies, wall) = if which == 0 {
                let a = Arc::clone(&a);
                run(concurrency, len, move |i| a(start + i)).await?
            } else {
                let b = Arc::clone(&b);
                run(concurrency, len, move |i| b(start + i)).await?
            };
            timings[which].0.extend(latencies);
            timings[which].1 += wall;
        }
    }
    let [(a_latencies, a_wall), (b_latencies, b_wall)] = timings;
    Ok([
        summarize(names[0], concurrency, a_latencies, a_wall),
        summarize(names[1], concurrency, b_latencies, b_wall),
    ])
}

/// The raw timings of `ops` calls over `concurrency` tasks, and the wall time they took.
pub async fn run<F, Fut>(
    concurrency: usize,
    ops: usize,
    op: F,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        let op = Arc::clone(&op);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(ops / concurrency + 1);
            for i in (task..ops).step_by(concurrency) {
                let start = Instant::now();
                op(i).await?;
                latencies.push(start.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(ops);
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok((latencies, started.elapsed()))
}

/// Throughput and percentiles of one run.
pub fn summarize(
    name: &str,
    concurrency: usize,
    mut latencies: Vec<Duration>,
    wall: Duration,
) -> Measurement {
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index =
            ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
        latencies.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    Measurement {
        op: name.to_owned(),
        concurrency,
        ops: latencies.len(),
        ops_per_sec: latencies.len() as f64 / wall.as_secs_f64().max(1e-9),
        p50_us: percentile(0.50),
        p99_us: percentile(0.99),
        stale: None,
    }
}
