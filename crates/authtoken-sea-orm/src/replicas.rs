//! Token reads on PostgreSQL streaming replicas, with revocation kept absolute.
//!
//! The guarantee rests on two things, one checked once, one on every read:
//! - **At start** ([`check`]): the primary waits for every replica the store reads from to apply
//!   each commit before the commit returns (`synchronous_standby_names` lists them all, `FIRST
//!   n` with them among the first `n`, or `ANY n` with `n` the number of synchronous standbys;
//!   `synchronous_commit = remote_apply`). So once a logout (or a `DELETE` from any other
//!   process) has returned, every replica shows it to its queries.
//! - **On every read**: the replica answers only if its WAL receiver is streaming and it has
//!   replayed everything it received, asked first, the row read after, in a later statement
//!   (whose snapshot is then past every commit that returned before the read began). A replica that is behind (replay
//!   paused, a slow apply, cut off from the primary) sends the read to the primary; so does a
//!   miss (a login a moment ago: read your writes), a replica that fails or does not answer in
//!   time (which then rests a while, so that the reads after it do not wait on it too).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authtoken::{Error, Result};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, QueryResult, Statement, Value,
};

/// How long a replica read may take before the primary is asked instead, unless the store has
/// a timeout of its own.
pub(crate) const DEFAULT_REPLICA_TIMEOUT: Duration = Duration::from_secs(2);

/// Streaming, and everything received replayed (`NULL`, read as stale, where either is unknown):
/// a macro, so that the probe below is written from the same text.
macro_rules! freshness {
    () => {
        "(SELECT status = 'streaming' FROM pg_stat_wal_receiver) \
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    };
}

/// The column of the freshness probe: whether the replica was caught up.
const FRESH: &str = "authtoken_replica_fresh";

/// The freshness condition, as the start check asks it.
const FRESHNESS: &str = freshness!();

/// The probe every replica read begins with.
const FRESHNESS_PROBE: &str = concat!("SELECT ", freshness!(), " AS authtoken_replica_fresh");

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
struct Replica {
    conn: DatabaseConnection,
    /// Milliseconds since [`Replicas::epoch`] before which no read goes to it.
    resting_until: AtomicU64,
    /// The pause its next failure earns, in milliseconds (0: it has not failed lately).
    next_pause: AtomicU64,
}

/// The replicas a store reads from, in turn.
pub(crate) struct Replicas {
    replicas: Vec<Replica>,
    next: AtomicUsize,
    timeout: Duration,
    epoch: Instant,
    served: AtomicU64,
    to_primary: AtomicU64,
}

impl Replicas {
    pub(crate) fn new(conns: Vec<DatabaseConnection>, timeout: Duration) -> Self {
        let replicas = conns
            .into_iter()
            .map(|conn| Replica {
                conn,
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
    fn pick(&self) -> Option<(usize, &Replica)> {
        let now = self.now_ms();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.replicas.len())
            .map(|offset| (start + offset) % self.replicas.len())
            .map(|index| (index, &self.replicas[index]))
            .find(|(_, replica)| replica.resting_until.load(Ordering::Relaxed) <= now)
    }

    /// The row `sql` finds on the next replica, if that replica was caught up and found one;
    /// `None` sends the read to the primary. A replica that fails or does not answer within the
    /// timeout rests (1 s, doubling up to 30 s) so that the reads after it do not wait on it too.
    pub(crate) async fn fresh_row(&self, sql: &str, values: Vec<Value>) -> Option<QueryResult> {
        let Some((index, replica)) = self.pick() else {
            self.to_primary.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let read = async {
            // First whether it has replayed all it has received, then the row, in a later
            // statement: the row is read from a snapshot taken after the replay seen here,
            // which is past every commit that returned before this read began (each was
            // flushed here first). In one statement the snapshot would come first and the
            // check after, and a revoke replayed in between would pass unseen.
            let probe = Statement::from_string(DatabaseBackend::Postgres, FRESHNESS_PROBE);
            let fresh = replica.conn.query_one_raw(probe).await?;
            let fresh = fresh.and_then(|row| row.try_get::<Option<bool>>("", FRESH).ok().flatten());
            if fresh != Some(true) {
                return Ok(None);
            }
            let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
            replica.conn.query_one_raw(statement).await
        };
        let answer = tokio::time::timeout(self.timeout, read).await;
        let found = match answer {
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
        match found {
            Some(row) => {
                self.served.fetch_add(1, Ordering::Relaxed);
                Some(row)
            }
            None => {
                self.to_primary.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Leaves `replica` alone for its next pause, and doubles the one after.
    fn rest(&self, replica: &Replica) {
        let first = u64::try_from(FIRST_PAUSE.as_millis()).unwrap_or(1000);
        let max = u64::try_from(MAX_PAUSE.as_millis()).unwrap_or(30_000);
        let pause = replica.next_pause.load(Ordering::Relaxed).max(first);
        replica.next_pause.store((pause * 2).min(max), Ordering::Relaxed);
        replica.resting_until.store(self.now_ms().saturating_add(pause), Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> ReplicaStats {
        ReplicaStats {
            served: self.served.load(Ordering::Relaxed),
            to_primary: self.to_primary.load(Ordering::Relaxed),
        }
    }
}

fn refuse(why: String) -> Error {
    Error::Replicas(why)
}

/// Checks that `primary` waits for every one of `replicas` to apply each commit, and that each
/// replica can report its freshness; the reason it cannot be relied on otherwise.
pub(crate) async fn check(
    primary: &DatabaseConnection,
    replicas: &[DatabaseConnection],
) -> Result<()> {
    if primary.get_database_backend() != DatabaseBackend::Postgres {
        return Err(refuse("read replicas are PostgreSQL streaming standbys".into()));
    }
    if replicas.is_empty() {
        return Err(refuse("no replica was given".into()));
    }
    let settings = one(
        primary,
        "SELECT pg_is_in_recovery() AS standby, current_setting('synchronous_commit') AS commit, \
         current_setting('synchronous_standby_names') AS names",
    )
    .await?;
    let text =
        |row: &QueryResult, column: &str| row.try_get::<String>("", column).map_err(Error::store);
    if settings.try_get::<bool>("", "standby").map_err(Error::store)? {
        return Err(refuse("the primary's URL names a standby".into()));
    }
    let commit = text(&settings, "commit")?;
    // `on` waits for the standbys to flush, not to replay: measured, 16 concurrent
    // revoke-then-read rounds through a standby then read 1 to 7 revoked tokens in 2,000.
    // `remote_apply` is the level PostgreSQL documents as visible to queries on the standbys.
    if commit != "remote_apply" {
        return Err(refuse(format!(
            "synchronous_commit is {commit} on the primary: set it to remote_apply, so that a \
             commit returns once the standbys show it to their queries"
        )));
    }
    let Some((first, wanted)) = quorum(&text(&settings, "names")?) else {
        return Err(refuse(
            "synchronous_standby_names is empty on the primary: its standbys are asynchronous, \
             and a revoked token could be read on one"
                .into(),
        ));
    };
    let statement = Statement::from_string(
        DatabaseBackend::Postgres,
        "SELECT application_name, sync_state FROM pg_stat_replication \
         WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum')",
    );
    let standbys: Vec<(String, String)> = primary
        .query_all_raw(statement)
        .await
        .map_err(Error::store)?
        .iter()
        .map(|row| Ok((text(row, "application_name")?, text(row, "sync_state")?)))
        .collect::<Result<_>>()?;
    if !first && wanted < standbys.len() {
        return Err(refuse(format!(
            "synchronous_standby_names waits for ANY {wanted} of {} synchronous standbys: a \
             commit may return before a replica has it (ANY {} waits for all)",
            standbys.len(),
            standbys.len()
        )));
    }
    for (index, replica) in replicas.iter().enumerate() {
        let row = one(
            replica,
            &format!(
                "SELECT pg_is_in_recovery() AS standby, ({FRESHNESS}) IS NOT NULL AS knows, \
                 (SELECT conninfo FROM pg_stat_wal_receiver) AS conninfo"
            ),
        )
        .await?;
        if !row.try_get::<bool>("", "standby").map_err(Error::store)? {
            return Err(refuse(format!("replica {index} is not a standby")));
        }
        if !row.try_get::<bool>("", "knows").map_err(Error::store)? {
            return Err(refuse(format!(
                "replica {index} cannot report its replay: grant its role pg_monitor (or \
                 pg_read_all_stats), and check that it streams from the primary"
            )));
        }
        let conninfo: Option<String> = row.try_get("", "conninfo").map_err(Error::store)?;
        let name = conninfo.as_deref().and_then(application_name).unwrap_or_default();
        let listed = standbys.iter().find(|(standby, _)| *standby == name);
        match listed {
            Some((_, state)) if !first || state == "sync" => {}
            _ => {
                return Err(refuse(format!(
                    "replica {index} (application_name `{name}`) is not one of the synchronous \
                     standbys the primary waits for"
                )));
            }
        }
    }
    Ok(())
}

/// The one row `sql` returns on `conn`.
async fn one(conn: &DatabaseConnection, sql: &str) -> Result<QueryResult> {
    let statement = Statement::from_string(DatabaseBackend::Postgres, sql.to_owned());
    conn.query_one_raw(statement)
        .await
        .map_err(Error::store)?
        .ok_or_else(|| Error::store(format!("`{sql}` returned no row")))
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
}
