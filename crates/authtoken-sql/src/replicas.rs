//! Token reads on PostgreSQL streaming replicas, with revocation kept absolute: what both SQL
//! stores share (the SQL they ask, what its answers must say, the turn of replicas and their
//! rest after a failure). Each store only runs the statements on its own connections.
//!
//! The guarantee rests on two things, one checked once, one on every read:
//! - **At start** ([`ReplicaCheck`]): the primary waits for every replica the store reads from
//!   to apply each commit before the commit returns (`synchronous_standby_names` lists them all,
//!   `FIRST n` with them among the first `n`, or `ANY n` with `n` the number of synchronous
//!   standbys; `synchronous_commit = remote_apply`). So once a logout (or a `DELETE` from any
//!   other process) has returned, every replica shows it to its queries.
//! - **On every read** ([`ReplicaSet::read`] with [`FRESHNESS_PROBE`]): the replica answers only
//!   if its WAL receiver is streaming and it has replayed everything it received, asked first,
//!   the row read after, in a later statement (whose snapshot is then past every commit that
//!   returned before the read began). A replica that is behind (replay paused, a slow apply, cut
//!   off from the primary) sends the read to the primary; so does a miss (a login a moment ago:
//!   read your writes), a replica that fails or does not answer in time (which then rests a
//!   while, so that the reads after it do not wait on it too).

use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authtoken::{Error, Result};

/// How long a replica read may take before the primary is asked instead, unless the store has
/// a timeout of its own.
pub const DEFAULT_REPLICA_TIMEOUT: Duration = Duration::from_secs(2);

/// Streaming, and everything received replayed (`NULL`, read as stale, where either is unknown):
/// a macro, so that the probe and the start check are written from the same text.
macro_rules! freshness {
    () => {
        "(SELECT status = 'streaming' FROM pg_stat_wal_receiver) \
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    };
}

/// The column of [`FRESHNESS_PROBE`]: a nullable boolean, `true` when the replica was caught up.
pub const FRESH: &str = "authtoken_replica_fresh";

/// The statement every replica read begins with; its one row's [`FRESH`] column must be `true`
/// for the replica to answer.
pub const FRESHNESS_PROBE: &str = concat!("SELECT ", freshness!(), " AS authtoken_replica_fresh");

/// The primary's side of the start check: one row, `standby` (bool), `commit` and `names`
/// (text), read into [`ReplicaCheck::new`].
pub const PRIMARY_SETTINGS: &str = "SELECT pg_is_in_recovery() AS standby, \
     current_setting('synchronous_commit') AS commit, \
     current_setting('synchronous_standby_names') AS names";

/// The standbys the primary waits for: rows of `application_name` and `sync_state` (text).
pub const SYNCHRONOUS_STANDBYS: &str = "SELECT application_name, sync_state FROM pg_stat_replication \
     WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum')";

/// A replica's side of the start check: one row, `standby` and `knows` (bool), `conninfo`
/// (nullable text), read into [`ReplicaCheck::replica`].
pub const REPLICA_STATE: &str = concat!(
    "SELECT pg_is_in_recovery() AS standby, (",
    freshness!(),
    ") IS NOT NULL AS knows, (SELECT conninfo FROM pg_stat_wal_receiver) AS conninfo"
);

/// Where a store's reads went: on a replica, or on the primary after a replica could not answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicaStats {
    /// Reads a caught-up replica answered with a row.
    pub served: u64,
    /// Reads that went to the primary: a miss, a replica behind, failing or too slow.
    pub to_primary: u64,
}

/// How long a replica that failed or timed out is left alone before it is tried again: the
/// first time, then twice as long after each further failure, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// One replica, and until when it is left alone after failing.
struct Replica<C> {
    conn: C,
    /// Held by the read whose freshness probe is in flight: the reads that arrive meanwhile wait
    /// for the next probe and share it, rather than each asking.
    probing: tokio::sync::Mutex<()>,
    /// When the last probe was sent, and what it found.
    last_probe: std::sync::Mutex<Option<(Instant, bool)>>,
    /// Milliseconds since [`ReplicaSet::epoch`] before which no read goes to it.
    resting_until: AtomicU64,
    /// The pause its next failure earns, in milliseconds (0: it has not failed lately).
    next_pause: AtomicU64,
}

/// The replicas a store reads from, in turn: connections (or pools) `C` to each.
pub struct ReplicaSet<C> {
    replicas: Vec<Replica<C>>,
    next: AtomicUsize,
    timeout: Duration,
    epoch: Instant,
    served: AtomicU64,
    to_primary: AtomicU64,
}

impl<C> ReplicaSet<C> {
    /// The replicas `conns`, each read bounded by `timeout`.
    pub fn new(conns: Vec<C>, timeout: Duration) -> Self {
        let replicas = conns
            .into_iter()
            .map(|conn| Replica {
                conn,
                probing: tokio::sync::Mutex::new(()),
                last_probe: std::sync::Mutex::new(None),
                resting_until: AtomicU64::new(0),
                next_pause: AtomicU64::new(0),
            })
            .collect();
        let (next, served, to_primary) =
            (AtomicUsize::new(0), AtomicU64::new(0), AtomicU64::new(0));
        Self { replicas, next, timeout, epoch: Instant::now(), served, to_primary }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The next replica in turn that is not resting after a failure.
    fn pick(&self) -> Option<(usize, &Replica<C>)> {
        if self.replicas.is_empty() {
            return None;
        }
        let now = self.now_ms();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.replicas.len())
            .map(|offset| (start + offset) % self.replicas.len())
            .map(|index| (index, &self.replicas[index]))
            .find(|(_, replica)| replica.resting_until.load(Ordering::Relaxed) <= now)
    }

    /// What `read` finds on the next replica, if `probe` (which runs [`FRESHNESS_PROBE`] and
    /// answers its [`FRESH`] column) found the replica caught up; `None` sends the read to the
    /// primary (`read` answers `Ok(None)` for a miss). The probe is shared: the reads that arrive
    /// while one is in flight wait for the next one, which starts after they arrived, and use its
    /// answer; each row is read after its probe answered, in a later statement. A replica that
    /// fails or does not answer within the timeout rests (1 s, doubling up to 30 s) so that the
    /// reads after it do not wait on it too.
    pub async fn read<'a, R, E, P, ProbeFut, F, Fut>(&'a self, probe: P, read: F) -> Option<R>
    where
        P: FnOnce(&'a C) -> ProbeFut,
        ProbeFut: Future<Output = std::result::Result<Option<bool>, E>>,
        F: FnOnce(&'a C) -> Fut,
        Fut: Future<Output = std::result::Result<Option<R>, E>>,
        E: Display,
    {
        let Some((index, replica)) = self.pick() else {
            self.to_primary.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let work = async {
            match Self::fresh(replica, probe).await? {
                true => read(&replica.conn).await,
                false => Ok(None),
            }
        };
        let found = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(found)) => {
                replica.next_pause.store(0, Ordering::Relaxed);
                found
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, replica = index, "a read replica failed: it rests");
                self.rest(replica);
                None
            }
            Err(_) => {
                tracing::warn!(replica = index, "a read replica did not answer in time: it rests");
                self.rest(replica);
                None
            }
        };
        let counter = if found.is_some() { &self.served } else { &self.to_primary };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Whether `replica` was caught up at some moment after this call began: the answer of a
    /// probe sent after that moment, this call's own or one another read sent meanwhile.
    async fn fresh<'a, E, P, ProbeFut>(
        replica: &'a Replica<C>,
        probe: P,
    ) -> std::result::Result<bool, E>
    where
        P: FnOnce(&'a C) -> ProbeFut,
        ProbeFut: Future<Output = std::result::Result<Option<bool>, E>>,
    {
        let arrived = Instant::now();
        // Waits for the probe in flight, if any: it started before this read, and proves
        // nothing of the commits that returned between its start and this read's.
        let _turn = replica.probing.lock().await;
        let last = *replica.last_probe.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((sent, fresh)) = last
            && sent > arrived
        {
            return Ok(fresh);
        }
        let sent = Instant::now();
        let fresh = probe(&replica.conn).await? == Some(true);
        *replica.last_probe.lock().unwrap_or_else(|e| e.into_inner()) = Some((sent, fresh));
        Ok(fresh)
    }

    /// Leaves `replica` alone for its next pause, and doubles the one after.
    fn rest(&self, replica: &Replica<C>) {
        let first = u64::try_from(FIRST_PAUSE.as_millis()).unwrap_or(1000);
        let max = u64::try_from(MAX_PAUSE.as_millis()).unwrap_or(30_000);
        let pause = replica.next_pause.load(Ordering::Relaxed).max(first);
        replica.next_pause.store((pause * 2).min(max), Ordering::Relaxed);
        replica.resting_until.store(self.now_ms().saturating_add(pause), Ordering::Relaxed);
    }

    /// How many reads the replicas answered, and how many went to the primary.
    pub fn stats(&self) -> ReplicaStats {
        ReplicaStats {
            served: self.served.load(Ordering::Relaxed),
            to_primary: self.to_primary.load(Ordering::Relaxed),
        }
    }
}

fn refuse(why: String) -> Error {
    Error::Replicas(why)
}

/// The start check: that the primary waits for every replica to apply each commit, and that each
/// replica can report its freshness. Made from the answers to [`PRIMARY_SETTINGS`] and
/// [`SYNCHRONOUS_STANDBYS`], then asked about each replica's answer to [`REPLICA_STATE`]; each
/// refusal is [`Error::Replicas`], naming what is missing.
///
/// ```
/// use authtoken_sql::ReplicaCheck;
/// let standbys = vec![("s1".to_owned(), "quorum".to_owned()), ("s2".to_owned(), "quorum".to_owned())];
/// let check = ReplicaCheck::new(false, "remote_apply", "ANY 2 (s1, s2)", standbys).unwrap();
/// check.replica(0, true, true, Some("host=p port=5432 application_name=s1")).unwrap();
/// assert!(check.replica(1, true, true, Some("host=p application_name=s3")).is_err());
/// assert!(ReplicaCheck::new(false, "on", "ANY 2 (s1, s2)", vec![]).is_err());
/// ```
#[derive(Debug)]
pub struct ReplicaCheck {
    /// `FIRST n` (or a bare list): the standbys waited for are those listed `sync`.
    first: bool,
    /// The streaming synchronous standbys: application name, sync state.
    standbys: Vec<(String, String)>,
}

impl ReplicaCheck {
    /// Checks the primary's settings (`standby`: whether it is in recovery; `commit`:
    /// `synchronous_commit`; `names`: `synchronous_standby_names`) and its synchronous
    /// `standbys` (application name, sync state).
    pub fn new(
        standby: bool,
        commit: &str,
        names: &str,
        standbys: Vec<(String, String)>,
    ) -> Result<Self> {
        if standby {
            return Err(refuse("the primary's URL names a standby".into()));
        }
        // `on` waits for the standbys to flush, not to replay: measured, 16 concurrent
        // revoke-then-read rounds through a standby then read 1 to 7 revoked tokens in 2,000.
        // `remote_apply` is the level PostgreSQL documents as visible to queries on the standbys.
        if commit != "remote_apply" {
            return Err(refuse(format!(
                "synchronous_commit is {commit} on the primary: set it to remote_apply, so that \
                 a commit returns once the standbys show it to their queries"
            )));
        }
        let Some((first, wanted)) = quorum(names) else {
            return Err(refuse(
                "synchronous_standby_names is empty on the primary: its standbys are \
                 asynchronous, and a revoked token could be read on one"
                    .into(),
            ));
        };
        if !first && wanted < standbys.len() {
            return Err(refuse(format!(
                "synchronous_standby_names waits for ANY {wanted} of {} synchronous standbys: a \
                 commit may return before a replica has it (ANY {} waits for all)",
                standbys.len(),
                standbys.len()
            )));
        }
        Ok(Self { first, standbys })
    }

    /// Checks replica `index`'s answer to [`REPLICA_STATE`]: a standby, able to report its
    /// replay, and streaming from the primary under a name the primary waits for.
    pub fn replica(
        &self,
        index: usize,
        standby: bool,
        knows: bool,
        conninfo: Option<&str>,
    ) -> Result<()> {
        if !standby {
            return Err(refuse(format!("replica {index} is not a standby")));
        }
        if !knows {
            return Err(refuse(format!(
                "replica {index} cannot report its replay: grant its role pg_monitor (or \
                 pg_read_all_stats), and check that it streams from the primary"
            )));
        }
        let name = conninfo.and_then(application_name).unwrap_or_default();
        match self.standbys.iter().find(|(standby, _)| *standby == name) {
            Some((_, state)) if !self.first || state == "sync" => Ok(()),
            _ => Err(refuse(format!(
                "replica {index} (application_name `{name}`) is not one of the synchronous \
                 standbys the primary waits for"
            ))),
        }
    }
}

/// The refusal when the store's database is not PostgreSQL, or no replica was given.
pub fn refuse_replicas(postgres: bool, count: usize) -> Result<()> {
    if !postgres {
        return Err(refuse("read replicas are PostgreSQL streaming standbys".into()));
    }
    if count == 0 {
        return Err(refuse("no replica was given".into()));
    }
    Ok(())
}

/// `synchronous_standby_names` as (whether it is `FIRST`, how many standbys a commit waits
/// for); `None` when it is empty (asynchronous replication).
fn quorum(names: &str) -> Option<(bool, usize)> {
    let names = names.trim();
    if names.is_empty() {
        return None;
    }
    let upper = names.to_ascii_uppercase();
    let (first, rest) = if let Some(rest) = upper.strip_prefix("ANY") {
        (false, rest.trim_start())
    } else if let Some(rest) = upper.strip_prefix("FIRST") {
        (true, rest.trim_start())
    } else {
        (true, upper.as_str())
    };
    // `n (a, b)`; a bare list `a, b` means FIRST 1.
    let count = rest.split_once('(').and_then(|(n, _)| n.trim().parse().ok()).unwrap_or(1);
    Some((first, count))
}

/// The `application_name` of a libpq connection string.
fn application_name(conninfo: &str) -> Option<String> {
    conninfo
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("application_name="))
        .map(|name| name.trim_matches('\'').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronous_standby_names_are_read_as_postgresql_reads_them() {
        assert_eq!(quorum(""), None);
        assert_eq!(quorum("ANY 2 (s1, s2)"), Some((false, 2)));
        assert_eq!(quorum("first 1 (s1, s2)"), Some((true, 1)));
        assert_eq!(quorum("2 (s1, s2)"), Some((true, 2)));
        assert_eq!(quorum("s1, s2"), Some((true, 1)));
        assert_eq!(quorum("*"), Some((true, 1)));
        let conninfo = "user=postgres host=127.0.0.1 port=5432 application_name=s1 sslmode=prefer";
        assert_eq!(application_name(conninfo).as_deref(), Some("s1"));
    }

    #[test]
    fn first_n_waits_only_for_the_standbys_listed_sync() {
        let standbys = vec![("s1".into(), "sync".into()), ("s2".into(), "potential".into())];
        let check = ReplicaCheck::new(false, "remote_apply", "FIRST 1 (s1, s2)", standbys).unwrap();
        assert!(check.replica(0, true, true, Some("application_name=s1")).is_ok());
        assert!(check.replica(1, true, true, Some("application_name=s2")).is_err());
        assert!(check.replica(0, false, true, Some("application_name=s1")).is_err());
        assert!(check.replica(0, true, false, Some("application_name=s1")).is_err());
    }

    #[tokio::test]
    async fn a_failing_replica_rests_and_the_others_answer() {
        let set = ReplicaSet::new(vec![0, 1], Duration::from_secs(1));
        let probe = |conn: &i32| {
            let conn = *conn;
            async move { if conn == 0 { Err("down") } else { Ok(Some(true)) } }
        };
        let row = |conn: &i32| {
            let conn = *conn;
            async move { Ok::<_, &str>(Some(conn)) }
        };
        let answers = [set.read(probe, row).await, set.read(probe, row).await];
        // Replica 0 failed once and rests: every read after goes to replica 1.
        assert!(answers.contains(&None));
        for _ in 0..4 {
            assert_eq!(set.read(probe, row).await, Some(1));
        }
        assert_eq!(set.stats().to_primary, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_share_probes_sent_after_they_arrived() {
        use std::sync::Arc;
        let set = Arc::new(ReplicaSet::new(vec![()], Duration::from_secs(5)));
        let probes = Arc::new(AtomicUsize::new(0));
        // The first probe is slow and finds the replica behind; every later one, caught up (and
        // slow enough that reads arriving together share it).
        let probe = {
            let probes = Arc::clone(&probes);
            move |_: &()| {
                let n = probes.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(Duration::from_millis(if n == 0 { 300 } else { 100 })).await;
                    Ok::<_, &str>(Some(n > 0))
                }
            }
        };
        let row = |_: &()| async { Ok::<_, &str>(Some(())) };
        let first = {
            let (set, probe) = (Arc::clone(&set), probe.clone());
            tokio::spawn(async move { set.read(probe, row).await })
        };
        // Once the first probe is in flight, sixteen reads arrive: none may use its answer
        // (whenever each arrives: during it, it waits for the next; after it, it sends its own).
        while probes.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let later: Vec<_> = (0..16)
            .map(|_| {
                let (set, probe) = (Arc::clone(&set), probe.clone());
                tokio::spawn(async move { set.read(probe, row).await })
            })
            .collect();
        assert_eq!(first.await.unwrap(), None, "the first probe found the replica behind");
        for read in later {
            assert_eq!(read.await.unwrap(), Some(()), "a later read used an earlier probe");
        }
        // They shared probes (2 here: the first, and one for all sixteen, unless the machine
        // stalled for a whole probe between two of them).
        let sent = probes.load(Ordering::SeqCst);
        assert!(sent < 17, "{sent} probes for 17 reads: none shared");
    }
}
