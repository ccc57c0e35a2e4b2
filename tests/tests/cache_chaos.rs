//! Two OS processes, one database (PostgreSQL with LISTEN/NOTIFY, and with logical decoding;
//! MariaDB with the polled
//! revocation log, the fallback; SQLite with the log read when the file's change counter moves),
//! the revocation channel of the second cut and stalled at random moments (on SQLite its log is
//! taken away): random logins, reads, logouts, logs-out-everywhere and user deletes, 10,000
//! operations. No read that starts later than a token's revocation plus the staleness bound
//! accepts it; every live token is accepted for its own user. The hit rate while the channel is
//! healthy is reported.
//!
//! Process A is this test (its own cache, over the same database); process B is
//! `cache_peer`, reading on command. Revocation instants are taken when the revoking call
//! returned (after its commit), so the check is sound whatever the machine's load.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authtoken::DatabaseStrategy;
use authtoken_tests::Backend;
use authtoken_tests::cached::CachedSqlBackend;
use authtoken_tests::sql::Engine;
use authtoken_tests::sql::i64_users::{I64Users, user};

const OPERATIONS: usize = 10_000;
const BOUND_MS: u64 = 300;

fn now_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros())
}

/// A small deterministic generator: the seed is printed, so a failing run can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

struct Peer {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Peer {
    fn start(url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cache_peer"))
            .args([url, &BOUND_MS.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the peer");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        let mut peer = Self { child, input, output };
        assert_eq!(peer.answer(), "ready");
        peer
    }

    fn answer(&mut self) -> String {
        let mut line = String::new();
        self.output.read_line(&mut line).expect("the peer's answer");
        assert!(!line.is_empty(), "the peer died");
        line.trim().to_owned()
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.input, "{command}").expect("the peer's input");
        self.answer()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Channel {
    Healthy,
    Cut,
    Stalled,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_processes_never_accept_a_token_past_its_revocation_plus_the_bound() {
    two_processes_never_accept_a_token_past_its_revocation_plus_the_bound(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_two_processes_never_accept_a_token_past_its_revocation_plus_the_bound() {
    two_processes_never_accept_a_token_past_its_revocation_plus_the_bound(Engine::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_never_accept_a_token_past_its_revocation_plus_the_bound() {
    two_processes_never_accept_a_token_past_its_revocation_plus_the_bound(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logical_two_processes_never_accept_a_token_past_its_revocation_plus_the_bound() {
    // Both caches on the logical channel (the private server decodes its WAL; the publication,
    // no trigger): the peer's replication connection goes through its proxy.
    let Some(a) = CachedSqlBackend::<I64Users>::setup_logical().await else { return };
    chaos(a, "PostgreSQL, logical decoding").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_binlog_two_processes_never_accept_a_token_past_its_revocation_plus_the_bound() {
    // The private MariaDB keeps a binary log: both pollers are woken by it; the peer's
    // replication connection goes through its proxy.
    let Some(a) = CachedSqlBackend::<I64Users>::setup_binlog().await else { return };
    chaos(a, "MariaDB, binary log").await;
}

async fn two_processes_never_accept_a_token_past_its_revocation_plus_the_bound(engine: Engine) {
    let Some(a) = CachedSqlBackend::<I64Users>::setup(engine).await else { return };
    chaos(a, &format!("{engine:?}")).await;
}

async fn chaos(a: CachedSqlBackend<I64Users>, engine: &str) {
    let mut peer = Peer::start(&a.sql.db.url);
    let strategy = DatabaseStrategy::new(a.store(), Some(Duration::from_secs(3600))).unwrap();
    let seed = now_micros() as u64 | 1;
    let mut random = Random(seed);
    let _ = writeln!(std::io::stderr(), "cache chaos on {engine}: seed {seed}");

    let mut users: Vec<user::Model> = Vec::new();
    for _ in 0..20 {
        users.push(a.create_user(true).await);
    }
    // token → owner, for live tokens; token → revocation instant (µs), for dead ones.
    let mut live: Vec<(String, i64)> = Vec::new();
    let mut revoked: HashMap<String, u128> = HashMap::new();
    let mut revoked_list: Vec<String> = Vec::new();
    let mut channel = Channel::Healthy;
    let mut changed_at = now_micros();
    let mut checked_down = 0usize;
    let (mut checked_dead, mut healthy_reads, mut healthy_hits) = (0usize, 0usize, 0usize);
    let bound_us = u128::from(BOUND_MS) * 1000;

    for _ in 0..OPERATIONS {
        match random.below(100) {
            0..25 => {
                let owner = users[random.below(users.len())].clone();
                let token = strategy.write_token(&owner).await.unwrap().into_secret();
                live.push((token, owner.id));
            }
            25..45 if !revoked_list.is_empty() => {
                let token = revoked_list[random.below(revoked_list.len())].clone();
                let answer = peer.ask(&format!("read {token}"));
                let start: u128 = answer
                    .split(' ')
                    .nth(if answer.starts_with("ok") { 2 } else { 1 })
                    .and_then(|s| s.parse().ok())
                    .expect("a start time");
                if start > revoked[&token] + bound_us {
                    assert!(
                        answer.starts_with("none"),
                        "seed {seed}: accepted {}µs after its revocation: {answer}",
                        start - revoked[&token]
                    );
                    checked_dead += 1;
                }
            }
            25..70 if !live.is_empty() => {
                // Sessions make many requests: mostly one of the newest tokens.
                let recent = live.len().min(16);
                let index = if random.below(5) == 0 {
                    random.below(live.len())
                } else {
                    live.len() - 1 - random.below(recent)
                };
                let (token, owner) = live[index].clone();
                let answer = peer.ask(&format!("read {token}"));
                let parts: Vec<&str> = answer.split(' ').collect();
                assert_eq!(parts.first(), Some(&"ok"), "seed {seed}: a live token was refused");
                assert_eq!(parts[1], owner.to_string(), "seed {seed}: the wrong user");
                if channel == Channel::Healthy {
                    healthy_reads += 1;
                    healthy_hits += usize::from(parts[3] == "1");
                }
                // And never a hit while the channel is down and the bound has passed.
                if channel != Channel::Healthy && now_micros() > changed_at + bound_us {
                    assert_eq!(parts[3], "0", "seed {seed}: a hit while the channel was down");
                    checked_down += 1;
                }
            }
            70..82 if !live.is_empty() => {
                let (token, owner) = live.remove(random.below(live.len()));
                let owner = users.iter().find(|u| u.id == owner).unwrap().clone();
                assert!(strategy.destroy_token(&token, &owner).await.unwrap());
                revoked.insert(token.clone(), now_micros());
                revoked_list.push(token);
            }
            82..85 => {
                let owner = users[random.below(users.len())].clone();
                strategy.destroy_all_tokens(&owner).await.unwrap();
                kill_all_of(owner.id, &mut live, &mut revoked, &mut revoked_list);
            }
            85..87 => {
                let index = random.below(users.len());
                let gone = users.swap_remove(index);
                a.delete_user(&gone).await;
                kill_all_of(gone.id, &mut live, &mut revoked, &mut revoked_list);
                users.push(a.create_user(true).await);
            }
            // Now and then (about every 500 operations) the channel changes state.
            87 if random.below(5) == 0 => {
                channel = match random.below(3) {
                    0 => Channel::Cut,
                    1 => Channel::Stalled,
                    _ => Channel::Healthy,
                };
                let command = match channel {
                    Channel::Cut => "cut",
                    Channel::Stalled => "stall",
                    Channel::Healthy => "pass",
                };
                assert_eq!(peer.ask(command), "done");
                changed_at = now_micros();
            }
            _ => {}
        }
    }
    assert_eq!(peer.ask("pass"), "done");
    let stats = peer.ask("stats");
    drop(peer.input);
    assert!(peer.child.wait().unwrap().success(), "the peer failed");
    let rate = healthy_hits as f64 / healthy_reads.max(1) as f64;
    let _ = writeln!(
        std::io::stderr(),
        "cache chaos on {engine}: {OPERATIONS} operations, {checked_dead} reads of revoked tokens past the \
         bound (all refused), {checked_down} reads while the channel was down (no hits), hit \
         rate while healthy {:.1}% of {healthy_reads} reads; peer hits/misses {stats}",
        rate * 100.0
    );
    assert!(checked_dead >= 100, "seed {seed}: too few revoked tokens were read past the bound");
    assert!(healthy_hits > 0, "seed {seed}: the cache never served a hit");
    a.cleanup().await;
}

/// Every live token of `owner` is now revoked.
fn kill_all_of(
    owner: i64,
    live: &mut Vec<(String, i64)>,
    revoked: &mut HashMap<String, u128>,
    revoked_list: &mut Vec<String>,
) {
    let now = now_micros();
    live.retain(|(token, id)| {
        if *id == owner {
            revoked.insert(token.clone(), now);
            revoked_list.push(token.clone());
        }
        *id != owner
    });
}
