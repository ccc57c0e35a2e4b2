//! The revocation-aware cache: `read_token_cached` (the hit path, beside the same floor as
//! `read_token`) and `revocation_propagation` (this process revokes, a second OS process
//! refuses; the time between, over many revocations), through LISTEN/NOTIFY on PostgreSQL, the
//! polled revocation log on SQLite and MySQL/MariaDB, and pub/sub on Redis.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, ensure};
use authtoken::cache::{CacheOptions, CachedStore};
use authtoken::{AccessTokenStore, DatabaseStrategy};
use authtoken_redis::{RedisRevocations, RedisStore};
use authtoken_sea_orm::SeaOrmStore;
use authtoken_sea_orm::revocations::Revocations;
use sea_orm::DatabaseConnection;

use crate::measure::{Measurement, summarize};
use crate::ops::Bench;
use crate::schema::{token, user};

/// The staleness bound the benchmark's caches run with (the polled log reads twice per bound).
const BOUND: Duration = Duration::from_millis(100);

/// The argument that makes the binary the second process of `revocation_propagation`.
pub const PEER_FLAG: &str = "--revocation-peer";

type Cached = CachedStore<SeaOrmStore<token::Entity>>;

fn options() -> CacheOptions {
    CacheOptions { staleness_bound: BOUND, ..CacheOptions::default() }
}

/// Waits until `store`'s channel has proved it current.
async fn until_serving<S: AccessTokenStore<UserId = i64>>(
    store: &CachedStore<S>,
) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !store.is_serving() {
        ensure!(std::time::Instant::now() < deadline, "the cache never became current");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// A cache over `db` kept current by its own listener, once it serves hits.
pub async fn cached_store(db: &DatabaseConnection) -> anyhow::Result<(Cached, Revocations)> {
    let store = CachedStore::new(SeaOrmStore::<token::Entity>::new(db.clone()), options())?;
    let channel = Revocations::start(db, store.revocation_sink(), "access_token").await?;
    let store = store.with_publisher(channel.publisher());
    until_serving(&store).await?;
    Ok((store, channel))
}

/// A cache over the Redis store kept current by pub/sub, once it serves hits.
pub async fn redis_cached_store(
    store: RedisStore<i64>,
) -> anyhow::Result<(CachedStore<RedisStore<i64>>, RedisRevocations)> {
    let store = CachedStore::new(store, options())?;
    let channel = RedisRevocations::start(store.inner(), store.revocation_sink()).await?;
    let store = store.with_publisher(channel.publisher());
    until_serving(&store).await?;
    Ok((store, channel))
}

/// The hit path: the same tokens as `read_token`, read once untimed (the fill), then timed.
pub async fn read_token_cached(
    db: DatabaseConnection,
    users: usize,
    concurrency: usize,
    tokens: std::sync::Arc<Vec<String>>,
) -> anyhow::Result<Measurement> {
    let (store, channel) = cached_store(&db).await?;
    let bench = Bench::with_store(db, store.clone(), users)?;
    for token in tokens.iter() {
        let _: Option<(user::Model, _)> =
            bench.strategy.read_token(token, &authtoken::Joined).await?;
    }
    let before = store.stats();
    let measured = bench.read_token("read_token_cached", concurrency, tokens).await?;
    let after = store.stats();
    ensure!(after.misses == before.misses, "the cached reads went to the database");
    channel.stop().await;
    Ok(measured)
}

fn now_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros())
}

/// `revocations` times: log in through `strategy`, let the peer process (started with
/// `peer_args`: the URL, and the key prefix on Redis) cache the token, revoke it here, and time
/// until the peer refuses it (both on the system clock of this machine).
pub async fn revocation_propagation<S: AccessTokenStore<UserId = i64>>(
    strategy: DatabaseStrategy<S>,
    peer_args: &[&str],
    users: usize,
    revocations: usize,
) -> anyhow::Result<Measurement> {
    let mut peer = Command::new(std::env::current_exe()?)
        .arg(PEER_FLAG)
        .args(peer_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the peer process")?;
    let mut to_peer = peer.stdin.take().ok_or_else(|| anyhow!("the peer's stdin"))?;
    let mut from_peer =
        std::io::BufReader::new(peer.stdout.take().ok_or_else(|| anyhow!("stdout"))?);
    let mut line = String::new();
    let mut expect =
        |from_peer: &mut std::io::BufReader<_>, what: &str| -> anyhow::Result<String> {
            line.clear();
            from_peer.read_line(&mut line)?;
            let answer = line.trim().to_owned();
            ensure!(answer.starts_with(what), "the peer said {answer:?}, not {what}");
            Ok(answer)
        };
    expect(&mut from_peer, "ready")?;

    let mut latencies = Vec::with_capacity(revocations);
    let started = std::time::Instant::now();
    for i in 0..revocations {
        let owner = user::Model { id: (i % users) as i64 + 1, name: String::new() };
        let token = strategy.write_token(&owner).await?.into_secret();
        // The peer reads it until it hits, then keeps reading it.
        writeln!(to_peer, "{token}")?;
        expect(&mut from_peer, "cached")?;
        // A random phase: revocations in lockstep with a poller's ticks would all wait the
        // same part of its interval.
        tokio::time::sleep(BOUND.mul_f64(f64::from(now_micros() as u32 % 1000) / 2000.0)).await;
        ensure!(strategy.destroy_token(&token, &owner).await?, "the logout missed");
        let revoked_at = now_micros();
        writeln!(to_peer, "revoked")?;
        let refused = expect(&mut from_peer, "refused ")?;
        let refused_at: u128 = refused["refused ".len()..].parse()?;
        latencies.push(Duration::from_micros(refused_at.saturating_sub(revoked_at) as u64));
    }
    drop(to_peer);
    let status = peer.wait()?;
    ensure!(status.success(), "the peer process failed");
    Ok(summarize("revocation_propagation", 1, latencies, started.elapsed()))
}

/// The peer: caches each token it is sent, polls it after "revoked" until refused, and answers
/// `refused {µs since the epoch}`. A read that errors fails the run. `args`: the URL, and the
/// key prefix on Redis.
pub async fn peer_main(args: &[String]) -> anyhow::Result<()> {
    let url = args.first().ok_or_else(|| anyhow!("the peer needs a URL"))?;
    if url.starts_with("redis") {
        let prefix = args.get(1).ok_or_else(|| anyhow!("the peer needs the key prefix"))?;
        let store = RedisStore::<i64>::connect(url).await?.with_prefix(prefix);
        let (store, channel) = redis_cached_store(store).await?;
        peer_loop(store).await?;
        channel.stop().await;
    } else {
        let db = sea_orm::Database::connect(url.as_str()).await?;
        let (store, channel) = cached_store(&db).await?;
        peer_loop(store).await?;
        channel.stop().await;
    }
    Ok(())
}

async fn peer_loop<S: AccessTokenStore<UserId = i64> + Clone>(
    store: CachedStore<S>,
) -> anyhow::Result<()> {
    let strategy = DatabaseStrategy::new(store.clone(), Some(Duration::from_secs(3600)))?;
    let mut out = std::io::stdout();
    writeln!(out, "ready")?;
    let mut input = std::io::stdin().lock().lines();
    while let Some(token) = input.next() {
        let token = token?;
        let mut hit = false;
        while !hit {
            let hits = store.stats().hits;
            let found = strategy.read_token_row(&token).await?;
            ensure!(found.is_some(), "the peer refused a live token");
            hit = store.stats().hits > hits;
        }
        writeln!(out, "cached")?;
        let Some(Ok(revoked)) = input.next() else { break };
        ensure!(revoked == "revoked", "unexpected {revoked:?}");
        loop {
            if strategy.read_token_row(&token).await?.is_none() {
                writeln!(out, "refused {}", now_micros())?;
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    Ok(())
}
