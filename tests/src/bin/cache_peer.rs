//! The second process of the cache's chaos test: a cache over the test's database (PostgreSQL:
//! LISTEN/NOTIFY; MySQL/MariaDB: the polled revocation log; SQLite: the log read when the file's
//! change counter moves) whose revocation channel runs through a proxy this process controls
//! (on SQLite, a file, the channel is stopped instead, and started again to pass); its reads go
//! to the database directly. Commands on stdin, one answer line each on stdout:
//!
//! - `read TOKEN` → `ok USER START_µs HIT` or `none START_µs` (START: when the read began, µs
//!   since the epoch; HIT: 1 if the cache answered)
//! - `cut`, `stall`, `pass` → `done` (what the channel's proxy does from now on)
//! - `stats` → `HITS MISSES`

use std::io::{BufRead, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authtoken::DatabaseStrategy;
use authtoken::cache::{CacheOptions, CachedStore};
use authtoken_sea_orm::SeaOrmStore;
use authtoken_sea_orm::revocations::Revocations;
use authtoken_tests::proxy::{FaultProxy, Mode};
use authtoken_tests::sql::i64_users::{access_token, user};

fn now_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("the database URL");
    let bound_ms: u64 = args.next().expect("the bound in ms").parse().expect("a number");
    let db = sea_orm::Database::connect(&url).await.expect("the database");
    let sqlite = url.starts_with("sqlite");
    let (proxy, listen_via) = if sqlite {
        (None, db.clone())
    } else {
        let server = url::Url::parse(&url).expect("a URL");
        let default_port = if url.starts_with("postgres") { 5432 } else { 3306 };
        let port = server.port().unwrap_or(default_port);
        let upstream = format!("{}:{port}", server.host_str().unwrap());
        let proxy = FaultProxy::start(upstream).await;
        let listen_via = sea_orm::Database::connect(proxy.url_for(&url)).await.expect("the proxy");
        (Some(proxy), listen_via)
    };
    let options = CacheOptions {
        staleness_bound: Duration::from_millis(bound_ms),
        ..CacheOptions::default()
    };
    let store = CachedStore::new(SeaOrmStore::<access_token::Entity>::new(db.clone()), options)
        .expect("valid cache options");
    let channel = Revocations::start(&listen_via, store.revocation_sink(), "access_token")
        .await
        .expect("the revocation channel");
    let mut channel = Some(channel);
    let strategy =
        DatabaseStrategy::new(store.clone(), Some(Duration::from_secs(3600))).expect("strategy");
    let mut out = std::io::stdout();
    writeln!(out, "ready").unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("a command");
        let (command, argument) = line.split_once(' ').unwrap_or((&line, ""));
        match command {
            "read" => {
                let start = now_micros();
                let hits = store.stats().hits;
                let found: Option<user::Model> = strategy
                    .read_token(argument, &authtoken::Joined)
                    .await
                    .expect("a read")
                    .map(|(user, _row)| user);
                let hit = u8::from(store.stats().hits > hits);
                match found {
                    Some(user) => writeln!(out, "ok {} {start} {hit}", user.id),
                    None => writeln!(out, "none {start}"),
                }
            }
            "cut" | "stall" | "pass" => {
                match &proxy {
                    Some(proxy) => proxy.set(match command {
                        "cut" => Mode::Cut,
                        "stall" => Mode::Stall,
                        _ => Mode::Pass,
                    }),
                    // SQLite: a cut or a stall stops the channel (its proof then runs out);
                    // a pass starts a new one, which starts from nothing.
                    None => match command {
                        "pass" if channel.is_none() => {
                            let started = Revocations::start(
                                &listen_via,
                                store.revocation_sink(),
                                "access_token",
                            );
                            channel = Some(started.await.expect("the revocation channel"));
                        }
                        "cut" | "stall" => {
                            if let Some(stopped) = channel.take() {
                                stopped.stop().await;
                            }
                        }
                        _ => {}
                    },
                }
                writeln!(out, "done")
            }
            "stats" => {
                let stats = store.stats();
                writeln!(out, "{} {}", stats.hits, stats.misses)
            }
            other => panic!("unknown command {other}"),
        }
        .expect("answering");
    }
    if let Some(channel) = channel {
        channel.stop().await;
    }
}
