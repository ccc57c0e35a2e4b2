//! The revocation-aware cache: `read_token_cached` (the hit path, beside the same floor as
//! `read_token`) and `revocation_propagation` (this process revokes, a second OS process
//! refuses; the time between, over many revocations), through LISTEN/NOTIFY on PostgreSQL, the
//! polled revocation log on SQLite and MySQL/MariaDB, and pub/sub on Redis.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, ensure};
use authtoken::cache::{CacheOptions, CachedStore};
use authtoken::{AccessTokenStore, DatabaseStrategy};
use authtoken_redis::{RedisRevocations, RedisStore};
use authtoken_sea_orm::SeaOrmStore;
use authtoken_sea_orm::revocations::Revocations;
use sea_orm::DatabaseConnection;

use crate::channel_tap::ChannelTap;
use crate::measure::{Measurement, summarize};
use crate::ops::Bench;
use crate::schema::{token, user};

/// The staleness bound the benchmark's caches run with (the polled log reads twice per bound).
const BOUND: Duration = Duration::from_millis(100);

/// The peer's pause between two reads of a revoked token.
const READ_PAUSE: Duration = Duration::from_micros(50);

/// The tasks logging in and out while `revocation_propagation` is measured under load.
const LOGOUT_LOAD: usize = 16;

/// The logouts per second (all tasks together) of the paced load: what 16 tasks reach on
/// PostgreSQL with the NOTIFY trigger, whose commits queue. The unpaced load saturates a small
/// machine's cores, and then measures the scheduler as much as the channel.
const PACED_LOGOUTS_PER_SEC: u32 = 2_000;

/// The peer's argument that leaves the bare listener out (`--no-channel-floor`).
pub const NO_TAP: &str = "--no-tap";

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
    let measured = time_hits(&bench, concurrency, tokens).await?;
    let after = store.stats();
    ensure!(after.misses == before.misses, "the cached reads went to the database");
    channel.stop().await;
    Ok(measured)
}

/// Passes over the tokens the hit path is timed on: one pass takes a few milliseconds, too
/// short to time alone on a busy machine.
const HIT_PASSES: usize = 20;

/// `read_token_cached`: each task reads its share of `tokens` through the joined read,
/// [`HIT_PASSES`] times, holding its own handles (nothing shared between tasks but the
/// strategy itself, as in a server).
async fn time_hits(
    bench: &Bench<Cached>,
    concurrency: usize,
    tokens: Arc<Vec<String>>,
) -> anyhow::Result<Measurement> {
    let ids: Arc<Vec<i64>> = Arc::new((0..tokens.len()).map(|i| bench.user(i).id).collect());
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let (strategy, tokens, ids) =
                (Arc::clone(&bench.strategy), Arc::clone(&tokens), Arc::clone(&ids));
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(tokens.len() * HIT_PASSES / concurrency + 1);
                for _ in 0..HIT_PASSES {
                    for i in (task..tokens.len()).step_by(concurrency) {
                        let start = std::time::Instant::now();
                        let found: Option<(user::Model, _)> =
                            strategy.read_token(&tokens[i], &authtoken::Joined).await?;
                        let (found, _) =
                            found.ok_or_else(|| anyhow!("a valid token was refused"))?;
                        latencies.push(start.elapsed());
                        ensure!(found.id == ids[i], "the wrong user");
                    }
                    // A hit never waits, so a pass never yields: let the channel's tasks run
                    // between passes (a server yields at every request), or a pass that the
                    // machine stretches past the bound outlives the cache's proof.
                    tokio::task::yield_now().await;
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(summarize("read_token_cached", concurrency, latencies, started.elapsed()))
}

/// Microseconds since the epoch, on this machine's clock (both processes read the same one).
pub fn now_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros())
}

/// `revocations` times: log in through `strategy`, let the peer process (started with
/// `peer_args`: the URL, and the key prefix on Redis) cache the token, revoke it here, and time
/// until the peer refuses it (both on the system clock of this machine); with `logouts` > 0,
/// while that many tasks log in and out as fast as they can. Returns `revocation_propagation`
/// at concurrency `logouts` (1 when idle) and, where the peer can listen to the channel itself
/// (PostgreSQL), `channel_floor`: the same revocations, timed to the peer's bare listener.
async fn revocation_propagation<S>(
    strategy: DatabaseStrategy<S>,
    peer_args: &[&str],
    users: usize,
    revocations: usize,
    logouts: usize,
    paced: bool,
) -> anyhow::Result<Vec<Measurement>>
where
    S: AccessTokenStore<UserId = i64> + 'static,
{
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

    let strategy = Arc::new(strategy);
    let pace = paced.then_some(PACED_LOGOUTS_PER_SEC);
    let load = LogoutLoad::start(&strategy, users, logouts, pace);
    let mut latencies = Vec::with_capacity(revocations);
    let mut channel = Vec::with_capacity(revocations);
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
        let refused = expect(&mut from_peer, "refused ")?;
        let mut stamps = refused["refused ".len()..].split(' ');
        let refused_at: u128 = stamps.next().unwrap_or_default().parse()?;
        let since = |at: u128| Duration::from_micros(at.saturating_sub(revoked_at) as u64);
        latencies.push(since(refused_at));
        if let Some(heard_at) = stamps.next().and_then(|s| s.parse::<u128>().ok()) {
            channel.push(since(heard_at));
        }
    }
    let elapsed = started.elapsed();
    let logged_out = load.stop().await?;
    drop(to_peer);
    let status = peer.wait()?;
    ensure!(status.success(), "the peer process failed");
    if logouts > 0 {
        eprintln!(
            "  under {logouts} tasks logging in and out{}: {:.0} logouts/s",
            if paced { " (paced)" } else { "" },
            logged_out as f64 / elapsed.as_secs_f64()
        );
    }
    let level = logouts.max(1);
    let suffix = if paced { "_paced" } else { "" };
    let propagation = format!("revocation_propagation{suffix}");
    let mut results = vec![summarize(&propagation, level, latencies, elapsed)];
    if channel.len() == revocations {
        results.push(summarize(&format!("channel_floor{suffix}"), level, channel, elapsed));
    }
    Ok(results)
}

/// [`revocation_propagation`] idle, then under [`LOGOUT_LOAD`] logout tasks as fast as they go,
/// then paced at [`PACED_LOGOUTS_PER_SEC`] in all; each through a strategy `strategy` makes.
pub async fn propagation_idle_and_loaded<S>(
    strategy: impl Fn() -> authtoken::Result<DatabaseStrategy<S>>,
    peer_args: &[&str],
    users: usize,
    revocations: usize,
) -> anyhow::Result<Vec<Measurement>>
where
    S: AccessTokenStore<UserId = i64> + 'static,
{
    let mut results = Vec::new();
    for (logouts, paced) in [(0, false), (LOGOUT_LOAD, false), (LOGOUT_LOAD, true)] {
        let measured =
            revocation_propagation(strategy()?, peer_args, users, revocations, logouts, paced);
        results.extend(measured.await?);
    }
    Ok(results)
}

/// Tasks that log in and out in a loop until stopped: the load revocations travel under.
struct LogoutLoad {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<u64>>>,
}

impl LogoutLoad {
    /// `tasks` tasks, as fast as they go or together at `pace` logouts per second.
    fn start<S>(
        strategy: &Arc<DatabaseStrategy<S>>,
        users: usize,
        tasks: usize,
        pace: Option<u32>,
    ) -> Self
    where
        S: AccessTokenStore<UserId = i64> + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let count = tasks;
        let tasks = (0..tasks)
            .map(|task| {
                let (strategy, stop) = (Arc::clone(strategy), Arc::clone(&stop));
                tokio::spawn(async move {
                    let mut ticks = pace.map(|per_sec| {
                        let every = Duration::from_secs(1) * count as u32 / per_sec.max(1);
                        let mut ticks = tokio::time::interval(every);
                        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        ticks
                    });
                    let mut done = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(ticks) = ticks.as_mut() {
                            ticks.tick().await;
                        }
                        let id = ((task + done as usize * 7) % users) as i64 + 1;
                        let owner = user::Model { id, name: String::new() };
                        let token = strategy.write_token(&owner).await?.into_secret();
                        ensure!(strategy.destroy_token(&token, &owner).await?, "a logout missed");
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        Self { stop, tasks }
    }

    /// Stops the tasks; how many logouts they made.
    async fn stop(self) -> anyhow::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = 0;
        for task in self.tasks {
            total += task.await??;
        }
        Ok(total)
    }
}

/// The peer: caches each token it is sent, then reads it until refused, and answers
/// `refused {µs since the epoch}`, then when its bare listener heard the revocation where it
/// has one. A read that errors fails the run. `args`: the URL, and the key prefix on Redis.
pub async fn peer_main(args: &[String]) -> anyhow::Result<()> {
    let url = args.first().ok_or_else(|| anyhow!("the peer needs a URL"))?;
    if url.starts_with("redis") {
        let prefix = args.get(1).ok_or_else(|| anyhow!("the peer needs the key prefix"))?;
        let store = RedisStore::<i64>::connect(url).await?.with_prefix(prefix);
        let (store, channel) = redis_cached_store(store).await?;
        peer_loop(store, None).await?;
        channel.stop().await;
    } else {
        let db = sea_orm::Database::connect(url.as_str()).await?;
        let tapped = args.get(1).map(String::as_str) != Some(NO_TAP);
        let tap = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres if tapped => {
                let channel = authtoken_sea_orm::revocations::default_channel("access_token");
                if crate::schema::decodes_logically(&db).await? {
                    Some(ChannelTap::logical(url, &channel).await?)
                } else {
                    Some(ChannelTap::postgres(url, &channel).await?)
                }
            }
            _ => None,
        };
        let (store, channel) = cached_store(&db).await?;
        peer_loop(store, tap).await?;
        channel.stop().await;
    }
    Ok(())
}

async fn peer_loop<S: AccessTokenStore<UserId = i64> + Clone>(
    store: CachedStore<S>,
    tap: Option<ChannelTap>,
) -> anyhow::Result<()> {
    let strategy = DatabaseStrategy::new(store.clone(), Some(Duration::from_secs(3600)))?;
    let mut out = std::io::stdout();
    writeln!(out, "ready")?;
    let input = std::io::stdin().lock().lines();
    for token in input {
        let token = token?;
        let mut hit = false;
        let mut key = String::new();
        if let Some(tap) = &tap {
            tap.clear();
        }
        while !hit {
            let hits = store.stats().hits;
            let found = strategy.read_token_row(&token).await?;
            key = found.ok_or_else(|| anyhow!("the peer refused a live token"))?.token;
            hit = store.stats().hits > hits;
        }
        writeln!(out, "cached")?;
        // Read it until refused, from now on: the revocation may arrive before this process
        // could be told of it, and telling it would time the pipe.
        loop {
            if strategy.read_token_row(&token).await?.is_none() {
                let refused_at = now_micros();
                match tap.as_ref() {
                    Some(tap) => {
                        let heard_at = tap.wait_for(&key).await?;
                        writeln!(out, "refused {refused_at} {heard_at}")?
                    }
                    None => writeln!(out, "refused {refused_at}")?,
                }
                break;
            }
            // A reader every 50 µs or so, not a spinning one: on a machine of few cores a
            // spinning reader takes the core the channel's listener (and the database's) needs,
            // and measures itself.
            std::thread::sleep(READ_PAUSE);
        }
    }
    Ok(())
}
