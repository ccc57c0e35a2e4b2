//! Real servers crashed and restarted mid-load, the cache in front and readers running: the
//! private servers of `.ci/private-servers` (a PostgreSQL, a MariaDB and a Redis of their own on
//! free loopback ports), the writer and cached reader each test sets up on one of them, and the
//! load that runs through the crash and checks every answer ([`crash_mid_load`]).
//!
//! `AUTHTOKEN_TEST_PRIVATE_URLS` takes the line `.ci/private-servers start DIR` prints (a
//! `postgres://`, a `mysql://` and a `redis://` URL, comma-separated) and
//! `AUTHTOKEN_TEST_PRIVATE_DIR` that DIR, through which a test kills a server (SIGKILL) and starts
//! it again. Never the shared servers: the URLs must be those of the servers in DIR.

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use authtoken::cache::CachedStore;
use authtoken::{AccessTokenStore, DatabaseStrategy, User, UserLoader};
use authtoken_migration::{
    CreateRevocationLog, CreateRevocationPublication, CreateRevocationTrigger,
};
use authtoken_redis::{RedisRevocations, RedisStore};
use authtoken_sea_orm::revocations::Revocations;
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers, access_token};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Schema};
use sea_orm_migration::{MigrationTrait, SchemaManager};

use crate::cached::{BOUND, options, until_serving};
use crate::memory::{MemoryUser, MemoryUsers};
use crate::sql::i64_users::{I64Users, user};
use crate::sql::{Engine, TestDb, USER_TABLE, UserSchema, token_migration};

/// Every store call and user load gives up after this long (an error, never a hung request).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// A read that has not answered after this long is a failure: a request that never answered.
pub const READ_LIMIT: Duration = Duration::from_secs(10);
/// After the restart returns, writes and the cache's hits must be back within this bound.
/// Generous on purpose (a slow, busy machine must not make the test flaky): the printed figure
/// is the measurement.
pub const RECOVERY_BOUND: Duration = Duration::from_secs(30);
/// A whole test, setup and cleanup included.
pub const DEADLINE: Duration = Duration::from_secs(120);
/// How long the server stays dead between the kill and the restart: past [`CALL_TIMEOUT`], so
/// that the calls under way (and the pools waiting for a connection) give up with an error
/// rather than wait the outage out, and the channels fail and reconnect, whatever the machine.
pub const DOWNTIME: Duration = Duration::from_secs(3);
/// Readers reading every token in a loop for the whole test.
const READERS: usize = 4;
/// Users of a test, each with a token; the last writes the recovery probes.
pub const ACCOUNTS: usize = 8;
/// Revoked before the crash, after it was cached.
const R1: usize = 0;
/// Revoked after the recovery.
const R2: usize = 1;
/// Revoked as soon as writes work again, likely before the reader's channel is back.
const R3: usize = 2;
/// Tokens never revoked.
const LIVE: std::ops::Range<usize> = 3..ACCOUNTS - 1;
/// The user whose logins probe for the writes' recovery.
const PROBE: usize = ACCOUNTS - 1;

/// One of the private servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The PostgreSQL (its postmaster is killed).
    Postgres,
    /// The MariaDB.
    MariaDb,
    /// The Redis (with an append-only file fsynced on every write).
    Redis,
}

impl Server {
    /// Its name for `.ci/private-servers`.
    fn script_name(self) -> &'static str {
        match self {
            Server::Postgres => "pg",
            Server::MariaDb => "mariadb",
            Server::Redis => "redis",
        }
    }

    /// Its name in messages.
    pub fn label(self) -> &'static str {
        match self {
            Server::Postgres => "postgres",
            Server::MariaDb => "mariadb",
            Server::Redis => "redis",
        }
    }

    /// The key of its port in `DIR/ports`.
    fn port_key(self) -> &'static str {
        match self {
            Server::Postgres => "pg_port",
            Server::MariaDb => "mariadb_port",
            Server::Redis => "redis_port",
        }
    }
}

/// The servers `.ci/private-servers start DIR` started, and DIR to kill and restart them with.
#[derive(Debug, Clone)]
pub struct PrivateServers {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub postgres: String,
    /// `mysql://root@127.0.0.1:PORT/test`
    pub mariadb: String,
    /// `redis://127.0.0.1:PORT`
    pub redis: String,
    dir: PathBuf,
}

impl PrivateServers {
    /// The servers named by the environment; `None` (with a notice) outside CI when unset; in CI
    /// a failure.
    pub fn from_env() -> Option<Self> {
        let urls: Vec<String> = std::env::var("AUTHTOKEN_TEST_PRIVATE_URLS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        let find = |scheme: &str| urls.iter().find(|u| u.starts_with(scheme)).cloned();
        let dir = std::env::var_os("AUTHTOKEN_TEST_PRIVATE_DIR").filter(|d| !d.is_empty());
        let (Some(postgres), Some(mariadb), Some(redis), Some(dir)) =
            (find("postgres://"), find("mysql://"), find("redis://"), dir)
        else {
            assert!(
                std::env::var_os("CI").is_none(),
                "AUTHTOKEN_TEST_PRIVATE_URLS (the postgres://, mysql:// and redis:// URLs that \
                 `.ci/private-servers start DIR` prints) and AUTHTOKEN_TEST_PRIVATE_DIR (that DIR) \
                 must be set in CI"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: AUTHTOKEN_TEST_PRIVATE_URLS and AUTHTOKEN_TEST_PRIVATE_DIR are not set \
                 (`.ci/private-servers start DIR` starts servers to crash), so no server was restarted"
            );
            return None;
        };
        let servers = Self { postgres, mariadb, redis, dir: dir.into() };
        servers.check_ports();
        Some(servers)
    }

    /// Each URL names the port of the server in DIR: the test kills what DIR holds, and must
    /// load that, never a shared server.
    fn check_ports(&self) {
        let file = self.dir.join("ports");
        let ports = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!("{}: {e} (not a `.ci/private-servers` DIR)", file.display())
        });
        for server in [Server::Postgres, Server::MariaDb, Server::Redis] {
            let key = format!("{}=", server.port_key());
            let kept = ports
                .split_whitespace()
                .find_map(|word| word.strip_prefix(key.as_str()))
                .and_then(|port| port.parse::<u16>().ok());
            let url = url::Url::parse(self.url(server)).expect("a server URL");
            assert_eq!(
                url.port(),
                kept,
                "AUTHTOKEN_TEST_PRIVATE_URLS names another {} than the one in {}",
                server.label(),
                self.dir.display()
            );
        }
    }

    /// The server's URL.
    pub fn url(&self, server: Server) -> &str {
        match server {
            Server::Postgres => &self.postgres,
            Server::MariaDb => &self.mariadb,
            Server::Redis => &self.redis,
        }
    }

    /// Kills `server` at once (SIGKILL), returning once it is gone; the guard starts it again
    /// if the test ends before [`Down::restart`].
    pub async fn kill(&self, server: Server) -> Down<'_> {
        self.run("kill", server).await;
        Down { servers: self, server, restarted: false }
    }

    async fn run(&self, command: &'static str, server: Server) {
        let args = vec![
            command.to_owned(),
            self.dir.display().to_string(),
            server.script_name().to_owned(),
        ];
        crate::ci_script::run("private-servers", args).await;
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/private-servers")
}

/// A server killed by [`PrivateServers::kill`].
#[must_use = "a killed server stays down until restarted"]
pub struct Down<'a> {
    servers: &'a PrivateServers,
    server: Server,
    restarted: bool,
}

impl Down<'_> {
    /// Starts the server again on its port and data, returning once it answers.
    pub async fn restart(mut self) {
        self.restarted = true;
        self.servers.run("restart", self.server).await;
    }
}

impl Drop for Down<'_> {
    /// A test that failed (or ran out of time) between the kill and the restart leaves the
    /// server running for the next.
    fn drop(&mut self) {
        if !self.restarted {
            let _ = std::process::Command::new("bash")
                .arg(script())
                .arg("restart")
                .arg(&self.servers.dir)
                .arg(self.server.script_name())
                .status();
        }
    }
}

/// Runs `test` within [`DEADLINE`].
pub async fn bounded(what: &str, test: impl Future<Output = ()>) {
    if tokio::time::timeout(DEADLINE, test).await.is_err() {
        panic!("{what}: the test did not finish within {DEADLINE:?}");
    }
}

/// What a restart test drives: a writer with no cache, a reader behind a cache whose channel is
/// serving, the reader's user loader, and [`ACCOUNTS`] users.
pub struct Rig<W: AccessTokenStore, R: AccessTokenStore, L: UserLoader>
where
    R::UserId: std::fmt::Display,
{
    /// The server that is killed.
    pub server: Server,
    /// Logins and logouts, straight to the server.
    pub writer: DatabaseStrategy<W>,
    /// Reads, through the cache.
    pub reader: DatabaseStrategy<CachedStore<R>>,
    /// The reader's cache (a clone sharing its entries and proof).
    pub cache: CachedStore<R>,
    /// The reader's user loader.
    pub users: L,
    /// The users whose tokens are read.
    pub accounts: Vec<L::User>,
}

/// When a token's revocation started and when it returned.
#[derive(Default)]
struct Marks {
    started: OnceLock<Instant>,
    returned: OnceLock<Instant>,
}

/// What the readers share.
struct Load<R: AccessTokenStore, L: UserLoader>
where
    R::UserId: std::fmt::Display,
{
    reader: DatabaseStrategy<CachedStore<R>>,
    users: L,
    tokens: Vec<String>,
    owners: Vec<R::UserId>,
    revocations: Vec<Marks>,
    killed: OnceLock<Instant>,
    restarted: OnceLock<Instant>,
    recovered: OnceLock<Instant>,
    stop: AtomicBool,
}

/// What the readers saw.
#[derive(Debug, Default)]
struct Tally {
    reads: u64,
    accepted: u64,
    refused: u64,
    errors_before_kill: u64,
    errors_outage: u64,
    errors_after_recovery: u64,
    first_error: Option<Instant>,
    last_error: Option<Instant>,
    /// Revoked tokens accepted by reads that started within the bound of the revocation
    /// (allowed by the guarantee).
    accepted_within_bound: u64,
    answered_after_restart: u64,
    slowest: Duration,
    unanswered: Vec<String>,
    revoked_accepted: Vec<String>,
    live_refused: Vec<String>,
    wrong_user: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.reads += other.reads;
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.errors_before_kill += other.errors_before_kill;
        self.errors_outage += other.errors_outage;
        self.errors_after_recovery += other.errors_after_recovery;
        self.first_error = earliest(self.first_error, other.first_error);
        self.last_error = self.last_error.max(other.last_error);
        self.accepted_within_bound += other.accepted_within_bound;
        self.answered_after_restart += other.answered_after_restart;
        self.slowest = self.slowest.max(other.slowest);
        self.unanswered.extend(other.unanswered);
        self.revoked_accepted.extend(other.revoked_accepted);
        self.live_refused.extend(other.live_refused);
        self.wrong_user.extend(other.wrong_user);
    }

    fn errors(&self) -> u64 {
        self.errors_before_kill + self.errors_outage + self.errors_after_recovery
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn token_name(index: usize) -> String {
    match index {
        R1 => "R1 (revoked before the crash)".to_owned(),
        R2 => "R2 (revoked after the recovery)".to_owned(),
        R3 => "R3 (revoked as soon as writes worked again)".to_owned(),
        _ => format!("live token {index}"),
    }
}

impl<R, L> Load<R, L>
where
    R: AccessTokenStore + 'static,
    R::UserId: Display,
    L: UserLoader + 'static,
    L::User: User<Id = R::UserId>,
{
    /// `at` as seconds after the kill (negative before it).
    fn since_kill(&self, at: Instant) -> String {
        match self.killed.get() {
            Some(&killed) if at >= killed => format!("kill+{:.3} s", (at - killed).as_secs_f64()),
            Some(&killed) => format!("kill-{:.3} s", (killed - at).as_secs_f64()),
            None => "before the kill".to_owned(),
        }
    }

    /// Reads every token until told to stop, checking every answer.
    async fn read(self: Arc<Self>) -> Tally {
        let mut tally = Tally::default();
        while !self.stop.load(Ordering::Acquire) {
            for index in 0..self.tokens.len() {
                self.read_one(index, &mut tally).await;
                // A hit never yields: let the channel's tasks and the other readers run.
                tokio::task::yield_now().await;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tally
    }

    async fn read_one(&self, index: usize, tally: &mut Tally) {
        let started = Instant::now();
        let read = self.reader.read_token(&self.tokens[index], &self.users);
        let outcome = tokio::time::timeout(READ_LIMIT, read).await;
        let ended = Instant::now();
        tally.reads += 1;
        tally.slowest = tally.slowest.max(ended - started);
        let name = token_name(index);
        let Ok(outcome) = outcome else {
            let at = self.since_kill(started);
            tally.unanswered.push(format!("{name}, read at {at}, no answer within {READ_LIMIT:?}"));
            return;
        };
        let Ok(found) = outcome.map(|found| found.map(|(user, _)| user)) else {
            if self.killed.get().is_none_or(|&killed| started < killed) {
                tally.errors_before_kill += 1;
            } else if self.recovered.get().is_some_and(|&recovered| started >= recovered) {
                tally.errors_after_recovery += 1;
            } else {
                tally.errors_outage += 1;
            }
            tally.first_error = earliest(tally.first_error, Some(started));
            tally.last_error = tally.last_error.max(Some(started));
            return;
        };
        if self.restarted.get().is_some_and(|&restarted| started >= restarted) {
            tally.answered_after_restart += 1;
        }
        let marks = &self.revocations[index];
        match found {
            Some(user) => {
                tally.accepted += 1;
                if user.id() != &self.owners[index] {
                    tally.wrong_user.push(format!(
                        "{name} read at {} named user {} instead of {}",
                        self.since_kill(started),
                        user.id(),
                        self.owners[index]
                    ));
                }
                // Read after the read: a revocation that returned a bound before the read
                // started is settled by then.
                if let Some(&revoked) = marks.returned.get() {
                    if started > revoked + BOUND {
                        tally.revoked_accepted.push(format!(
                            "{name} accepted by a read that started at {}, {:.3} s after its \
                             revocation returned (bound {BOUND:?})",
                            self.since_kill(started),
                            (started - revoked).as_secs_f64()
                        ));
                    } else {
                        tally.accepted_within_bound += 1;
                    }
                }
            }
            None => {
                tally.refused += 1;
                // A refusal of a token whose revocation had not started when the read ended:
                // an outage that logged someone out instead of failing.
                if marks.started.get().is_none_or(|&revoking| revoking > ended) {
                    tally.live_refused.push(format!(
                        "{name} refused by a read at {} (no revocation had started)",
                        self.since_kill(started)
                    ));
                }
            }
        }
    }

    /// Reads `token` until the reader answers (it may still meet a connection the crash broke).
    async fn answer(&self, index: usize) -> Option<L::User> {
        let mut attempts = 0;
        loop {
            let read = self.reader.read_token(&self.tokens[index], &self.users);
            let failure = match tokio::time::timeout(READ_LIMIT, read).await {
                Ok(Ok(found)) => return found.map(|(user, _)| user),
                Ok(Err(error)) => error.to_string(),
                Err(_) => format!("no answer within {READ_LIMIT:?}"),
            };
            attempts += 1;
            assert!(attempts < 50, "{}: the reader still fails: {failure}", token_name(index));
            tracing::debug!(failure, "the reader failed after the recovery; again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Revokes `token` through `writer`, retrying while the server fails, and marks when.
async fn revoke<W, U>(writer: &DatabaseStrategy<W>, token: &str, owner: &U, marks: &Marks)
where
    W: AccessTokenStore,
    U: User<Id = W::UserId>,
{
    let _ = marks.started.set(Instant::now());
    let mut failed = 0;
    loop {
        match tokio::time::timeout(READ_LIMIT, writer.destroy_token(token, owner)).await {
            Ok(Ok(deleted)) => {
                // A failed attempt may have deleted it.
                assert!(deleted || failed > 0, "the token to revoke was not there");
                let _ = marks.returned.set(Instant::now());
                return;
            }
            outcome if failed < 50 => {
                failed += 1;
                tracing::debug!(?outcome, "a revocation failed; again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            outcome => panic!("revoking kept failing: {outcome:?}"),
        }
    }
}

/// Kills the rig's server with SIGKILL while readers read every token through the cache,
/// restarts it after [`DOWNTIME`], measures the recovery and checks every answer: no revoked
/// token accepted past the staleness bound (R1 revoked before the crash, R3 as soon as writes
/// work again, R2 after the recovery), no live token refused, no read unanswered, no wrong
/// user; the cache serves no hits while its server is dead, and serves them again after.
pub async fn crash_mid_load<W, R, L>(servers: &PrivateServers, rig: Rig<W, R, L>)
where
    W: AccessTokenStore<UserId = R::UserId> + 'static,
    R: AccessTokenStore + 'static,
    R::UserId: Display,
    L: UserLoader + 'static,
    L::User: User<Id = R::UserId> + Clone + 'static,
{
    let Rig { server, writer, reader, cache, users, accounts } = rig;
    let label = server.label();
    assert_eq!(accounts.len(), ACCOUNTS, "a rig has {ACCOUNTS} users");

    // A token per user but the probe's, each read twice: cached, and the second read a hit.
    let mut tokens = Vec::new();
    for account in &accounts[..PROBE] {
        tokens.push(writer.write_token(account).await.expect("a login").into_secret());
    }
    let hits = cache.stats().hits;
    for (token, account) in tokens.iter().zip(&accounts) {
        for _ in 0..2 {
            let found =
                reader.read_token(token, &users).await.expect("a read").map(|(user, _)| user);
            assert_eq!(found.as_ref().map(User::id), Some(account.id()), "a fresh token");
        }
    }
    assert!(cache.stats().hits > hits, "the cache served no hits before the crash");

    let load = Arc::new(Load {
        reader,
        users,
        owners: accounts[..PROBE].iter().map(|a| a.id().clone()).collect(),
        revocations: tokens.iter().map(|_| Marks::default()).collect(),
        tokens,
        killed: OnceLock::new(),
        restarted: OnceLock::new(),
        recovered: OnceLock::new(),
        stop: AtomicBool::new(false),
    });

    // R1: cached, then revoked; refused after the bound, before anything goes wrong.
    revoke(&writer, &load.tokens[R1], &accounts[R1], &load.revocations[R1]).await;
    tokio::time::sleep(BOUND).await;
    assert!(load.answer(R1).await.is_none(), "{label}: R1 accepted after the bound");

    let readers: Vec<_> = (0..READERS).map(|_| tokio::spawn(Arc::clone(&load).read())).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The crash: the server dies at once, stays dead a while, and comes back.
    let _ = load.killed.set(Instant::now());
    let hits_at_kill = cache.stats().hits;
    let down = servers.kill(server).await;
    let killed_in = load.killed.get().expect("killed").elapsed();
    tokio::time::sleep(DOWNTIME).await;
    // Fail closed: with its server dead no channel can prove the cache current.
    let serving_while_down = cache.is_serving();
    let hits_after_kill = cache.stats().hits - hits_at_kill;
    let restart_started = Instant::now();
    down.restart().await;
    let restarted = Instant::now();
    let _ = load.restarted.set(restarted);
    let restart_took = restarted - restart_started;
    assert!(
        !serving_while_down,
        "{label}: the cache still served hits {DOWNTIME:?} after its server was killed"
    );

    // Recovery: (a) a login through the writer works again (R3 is revoked right then, while the
    // reader's channel is probably still away); (b) a read through the reader is answered again;
    // (c) the reader's cache serves hits again.
    let writes_back = async {
        loop {
            let login = tokio::time::timeout(READ_LIMIT, writer.write_token(&accounts[PROBE]));
            let failure = match login.await {
                Ok(Ok(_)) => break,
                Ok(Err(error)) => error.to_string(),
                Err(_) => format!("no answer within {READ_LIMIT:?}"),
            };
            assert!(
                restarted.elapsed() < RECOVERY_BOUND,
                "{label}: logins still fail {RECOVERY_BOUND:?} after the restart: {failure}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let writes = restarted.elapsed();
        revoke(&writer, &load.tokens[R3], &accounts[R3], &load.revocations[R3]).await;
        writes
    };
    let reads_back = async {
        let live = LIVE.start;
        loop {
            let read = load.reader.read_token(&load.tokens[live], &load.users);
            let failure = match tokio::time::timeout(READ_LIMIT, read).await {
                Ok(Ok(found)) => {
                    assert!(found.is_some(), "{label}: a live token refused after the restart");
                    break;
                }
                Ok(Err(error)) => error.to_string(),
                Err(_) => format!("no answer within {READ_LIMIT:?}"),
            };
            assert!(
                restarted.elapsed() < RECOVERY_BOUND,
                "{label}: reads still fail {RECOVERY_BOUND:?} after the restart: {failure}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        restarted.elapsed()
    };
    let serving_back = async {
        while !cache.is_serving() {
            assert!(
                restarted.elapsed() < RECOVERY_BOUND,
                "{label}: the cache serves no hits {RECOVERY_BOUND:?} after the restart"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        restarted.elapsed()
    };
    let (writes_took, reads_took, serving_took) =
        tokio::join!(writes_back, reads_back, serving_back);
    let recovery = writes_took.max(reads_took).max(serving_took);
    let _ = load.recovered.set(restarted + recovery);
    let hits_at_recovery = cache.stats().hits;

    // R2, revoked after the recovery, is refused after the bound; so are R1 and R3; a live
    // token is accepted again.
    revoke(&writer, &load.tokens[R2], &accounts[R2], &load.revocations[R2]).await;
    tokio::time::sleep(BOUND).await;
    for revoked in [R2, R1, R3] {
        let found = load.answer(revoked).await;
        assert!(found.is_none(), "{label}: {} accepted after the bound", token_name(revoked));
    }
    for live in LIVE {
        let found = load.answer(live).await;
        assert_eq!(
            found.as_ref().map(User::id),
            Some(accounts[live].id()),
            "{label}: {} after the recovery",
            token_name(live)
        );
    }
    // The readers go on a while with every revocation past its bound.
    tokio::time::sleep(Duration::from_secs(1)).await;
    load.stop.store(true, Ordering::Release);
    let mut tally = Tally::default();
    for reader in readers {
        tally.merge(reader.await.expect("a reader panicked"));
    }
    let hits_after_recovery = cache.stats().hits - hits_at_recovery;

    let errors = match (tally.first_error, tally.last_error) {
        (Some(first), Some(last)) => format!(
            "{} errors: {} during the outage (reads started from {} to {}), {} before the kill, \
             {} after the recovery",
            tally.errors(),
            tally.errors_outage,
            load.since_kill(first),
            load.since_kill(last),
            tally.errors_before_kill,
            tally.errors_after_recovery
        ),
        _ => "no errors".to_owned(),
    };
    let _ = writeln!(
        std::io::stderr(),
        "{label} restart: {} reads ({errors}), recovery {:.2} s (bound {} s; logins back after \
         {:.2} s, reads after {:.2} s, cache hits after {:.2} s), {} revoked accepted ({} within the bound), {} live refused, {} unanswered (slowest read {:.2} s); \
         down {:.2} s (kill {:.2} s, {:.0} s, restart {:.2} s); {} hits after the kill, {} after \
         the recovery",
        tally.reads,
        recovery.as_secs_f64(),
        RECOVERY_BOUND.as_secs(),
        writes_took.as_secs_f64(),
        reads_took.as_secs_f64(),
        serving_took.as_secs_f64(),
        tally.revoked_accepted.len(),
        tally.accepted_within_bound,
        tally.live_refused.len(),
        tally.unanswered.len(),
        tally.slowest.as_secs_f64(),
        (restarted - *load.killed.get().expect("killed")).as_secs_f64(),
        killed_in.as_secs_f64(),
        DOWNTIME.as_secs_f64(),
        restart_took.as_secs_f64(),
        hits_after_kill,
        hits_after_recovery,
    );

    let first = |list: &[String]| list.iter().take(5).cloned().collect::<Vec<_>>();
    assert!(
        tally.revoked_accepted.is_empty(),
        "{label}: {} reads accepted a revoked token past the bound: {:?}",
        tally.revoked_accepted.len(),
        first(&tally.revoked_accepted)
    );
    assert!(
        tally.unanswered.is_empty(),
        "{label}: {} requests never answered: {:?}",
        tally.unanswered.len(),
        first(&tally.unanswered)
    );
    assert!(
        tally.live_refused.is_empty(),
        "{label}: {} reads refused a live token: {:?}",
        tally.live_refused.len(),
        first(&tally.live_refused)
    );
    assert!(
        tally.wrong_user.is_empty(),
        "{label}: tokens named the wrong user: {:?}",
        first(&tally.wrong_user)
    );
    assert_eq!(tally.reads, tally.accepted + tally.refused + tally.errors(), "every read counted");
    assert!(tally.errors_outage > 0, "{label}: the readers never noticed the crash");
    assert!(tally.answered_after_restart > 0, "{label}: no read succeeded after the restart");
    assert!(hits_after_recovery > 0, "{label}: the cache served no hits after the recovery");
    assert!(recovery <= RECOVERY_BOUND, "{label}: recovery took {recovery:?}");
}

/// The token store on SQL, with i64 user ids.
pub type SqlStore = SeaOrmStore<access_token::Entity<i64>>;

/// A rig on the private PostgreSQL or MariaDB.
pub type SqlRig = Rig<SqlStore, SqlStore, SeaOrmUsers<user::Entity>>;

/// What a SQL restart test drops at the end.
pub struct SqlCleanup {
    db: TestDb,
    reader_pool: DatabaseConnection,
    channel: Revocations,
}

impl SqlCleanup {
    /// Stops the channel, closes the reader's pool and drops the database.
    pub async fn run(self) {
        self.channel.stop().await;
        self.reader_pool.close().await.ok();
        self.db.drop_database().await;
    }
}

/// A fresh database on the private `server` (PostgreSQL or MariaDB) at `url`: the user table,
/// the token table and the channel's migration (the NOTIFY trigger on PostgreSQL, the revocation
/// log on MariaDB); a writer on the database's pool; a reader on a pool of its own (another
/// process), behind a cache whose channel is serving.
pub async fn sql_setup(server: Server, url: &str) -> (SqlRig, SqlCleanup) {
    sql_setup_with(server, url, false).await
}

/// [`sql_setup`] on the private PostgreSQL with the revocation publication in place of the
/// trigger: the reader's cache on the logical channel (the server decodes its WAL logically).
pub async fn pg_logical_setup(url: &str) -> (SqlRig, SqlCleanup) {
    sql_setup_with(Server::Postgres, url, true).await
}

async fn sql_setup_with(server: Server, url: &str, logical: bool) -> (SqlRig, SqlCleanup) {
    let engine = match server {
        Server::Postgres => Engine::Postgres,
        Server::MariaDb => Engine::MySql,
        Server::Redis => panic!("Redis is not a SQL server"),
    };
    let db = TestDb::create_at(engine, url.to_owned(), None).await;
    let schema = Schema::new(db.conn.get_database_backend());
    let create_users = schema.create_table_from_entity(user::Entity);
    db.conn.execute(&create_users).await.expect("creating the user table");
    let manager = SchemaManager::new(&db.conn);
    token_migration::<I64Users>().up(&manager).await.expect("the token migration");
    if logical {
        CreateRevocationPublication::new("access_token").up(&manager).await.expect("publication");
    } else if engine == Engine::Postgres {
        CreateRevocationTrigger::new("access_token").up(&manager).await.expect("the trigger");
    } else {
        CreateRevocationLog::new("access_token", USER_TABLE, "id")
            .up(&manager)
            .await
            .expect("the revocation log");
    }

    let writer = SqlStore::new(db.conn.clone()).with_timeout(CALL_TIMEOUT);
    let writer = DatabaseStrategy::new(writer, HOUR).expect("a strategy");
    // The reader's pool waits for a connection no longer than a call may take.
    let mut reader_options = ConnectOptions::new(db.url.clone());
    reader_options.max_connections(8).acquire_timeout(CALL_TIMEOUT).sqlx_logging(false);
    let reader_pool = Database::connect(reader_options).await.expect("the reader's pool");
    let store = SqlStore::new(reader_pool.clone()).with_timeout(CALL_TIMEOUT);
    let cache = CachedStore::new(store, options()).expect("valid cache options");
    let channel = Revocations::start(&reader_pool, cache.revocation_sink(), "access_token")
        .await
        .expect("the revocation channel");
    assert_eq!(matches!(channel, Revocations::Logical(_)), logical, "the channel chosen");
    let cache = cache.with_publisher(channel.publisher());
    until_serving(&cache).await;
    let reader = DatabaseStrategy::new(cache.clone(), HOUR).expect("a strategy");
    let users = SeaOrmUsers::new(reader_pool.clone()).with_timeout(CALL_TIMEOUT);
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        accounts.push(I64Users::create(&db.conn, true).await);
    }
    let rig = Rig { server, writer, reader, cache, users, accounts };
    (rig, SqlCleanup { db, reader_pool, channel })
}

/// A rig on the private Redis.
pub type RedisRig = Rig<RedisStore<u64>, RedisStore<u64>, MemoryUsers<MemoryUser<u64>>>;

/// What a Redis restart test deletes at the end.
pub struct RedisCleanup {
    url: String,
    prefix: String,
    channel: RedisRevocations,
}

impl RedisCleanup {
    /// Stops the channel and deletes the test's keys (everything under its prefix).
    pub async fn run(self) {
        self.channel.stop().await;
        crate::redis::delete_keys_under(&self.url, &self.prefix).await;
    }
}

/// A fresh key prefix on the private Redis at `url`: a writer on a connection of its own, a
/// reader on another (another process) behind a cache whose channel (pub/sub) is serving, users
/// in memory.
pub async fn redis_setup(url: &str) -> (RedisRig, RedisCleanup) {
    let prefix = format!("authtoken-test:{}:", uuid::Uuid::new_v4().simple());
    let connect = || async {
        RedisStore::<u64>::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
            .with_prefix(&prefix)
            .with_timeout(CALL_TIMEOUT)
    };
    let writer = DatabaseStrategy::new(connect().await, HOUR).expect("a strategy");
    let cache = CachedStore::new(connect().await, options()).expect("valid cache options");
    let channel = RedisRevocations::start(cache.inner(), cache.revocation_sink())
        .await
        .expect("the revocation channel");
    let cache = cache.with_publisher(channel.publisher());
    until_serving(&cache).await;
    let reader = DatabaseStrategy::new(cache.clone(), HOUR).expect("a strategy");
    let users = MemoryUsers::new();
    let accounts: Vec<MemoryUser<u64>> =
        (1..=ACCOUNTS as u64).map(|id| MemoryUser { id, is_active: true }).collect();
    for account in &accounts {
        users.insert(account.clone());
    }
    let rig = Rig { server: Server::Redis, writer, reader, cache, users, accounts };
    (rig, RedisCleanup { url: url.to_owned(), prefix, channel })
}

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));
