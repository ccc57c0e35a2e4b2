//! A PostgreSQL primary and its synchronous standbys (`.ci/pg-replicas`, started by
//! `scripts/services up`): where the replica tests find them, and a test database on the primary
//! read through the standbys.

use std::io::Write;
use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use super::TestDb;

/// The replica set the tests run on.
pub struct ReplicaSet {
    /// The primary's server URL.
    pub primary: String,
    /// The standbys' server URLs, in order (standby 1 first).
    pub replicas: Vec<String>,
    /// The folder `.ci/pg-replicas` keeps them in, for `kill` and `restart`.
    pub dir: Option<String>,
}

/// `AUTHTOKEN_TEST_PG_PRIMARY_URL` and `AUTHTOKEN_TEST_PG_REPLICA_URLS` (with
/// `AUTHTOKEN_TEST_PG_REPLICAS_DIR`); `None` with a notice outside CI when unset, a failure in CI.
pub fn replica_set() -> Option<ReplicaSet> {
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (Some(primary), Some(replicas)) =
        (variable("AUTHTOKEN_TEST_PG_PRIMARY_URL"), variable("AUTHTOKEN_TEST_PG_REPLICA_URLS"))
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "AUTHTOKEN_TEST_PG_PRIMARY_URL and AUTHTOKEN_TEST_PG_REPLICA_URLS are not set: CI \
             must run the replica tests (scripts/services up starts the replica set)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: AUTHTOKEN_TEST_PG_PRIMARY_URL / AUTHTOKEN_TEST_PG_REPLICA_URLS are not set"
        );
        return None;
    };
    let replicas = replicas.split(',').map(|url| url.trim().to_owned()).collect();
    Some(ReplicaSet { primary, replicas, dir: variable("AUTHTOKEN_TEST_PG_REPLICAS_DIR") })
}

impl ReplicaSet {
    /// A new database on the primary.
    pub async fn create_db(&self) -> TestDb {
        TestDb::create_at(super::Engine::Postgres, self.primary.clone(), None).await
    }

    /// Pools on `db` through each standby, once the standby has replayed its creation.
    pub async fn replica_pools(&self, db: &TestDb) -> Vec<DatabaseConnection> {
        let mut pools = Vec::new();
        for server in &self.replicas {
            pools.push(connect_when_replayed(&db.url_through(server)).await);
        }
        pools
    }

    /// Diesel pools on `db` through each standby, once the standby has replayed its creation.
    pub async fn diesel_pools(
        &self,
        db: &TestDb,
    ) -> Vec<authtoken_diesel::Pool<authtoken_diesel::AsyncPgConnection>> {
        let mut pools = Vec::new();
        for (server, seen) in self.replicas.iter().zip(self.replica_pools(db).await) {
            seen.close().await.ok();
            let url = db.url_through(server);
            let pool = authtoken_diesel::connect::<authtoken_diesel::AsyncPgConnection>(&url, 8);
            pools.push(pool.await.expect("a Diesel pool on a standby"));
        }
        pools
    }

    /// Runs `.ci/pg-replicas ACTION DIR NODE` (`kill`, `restart`; node 0 is the primary).
    pub fn script(&self, action: &str, standby: usize) {
        let dir = self.dir.as_deref().expect("AUTHTOKEN_TEST_PG_REPLICAS_DIR for kill and restart");
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/pg-replicas");
        let status = std::process::Command::new("bash")
            .args([root, action, dir, &standby.to_string()])
            .status()
            .expect("running .ci/pg-replicas");
        assert!(status.success(), ".ci/pg-replicas {action} {standby} failed");
    }
}

/// A pool on `url`, a standby's view of a database the primary has just created (it appears
/// once the standby replays the creation: a few milliseconds, 30 s at most here).
async fn connect_when_replayed(url: &str) -> DatabaseConnection {
    let mut last = String::new();
    for _ in 0..300 {
        let mut options = ConnectOptions::new(url);
        options.max_connections(8).acquire_timeout(Duration::from_secs(10)).sqlx_logging(false);
        match Database::connect(options).await {
            Ok(pool) => return pool,
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the standby never showed {url}: {last}");
}
