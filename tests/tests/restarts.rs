//! Restarting the real servers mid-load, the cache in front and readers running: PostgreSQL (the
//! postmaster killed with SIGKILL; the cache on the NOTIFY trigger, then on logical decoding), MariaDB and Redis (each SIGKILLed), each restarted three
//! seconds later (past the clients' 2 s call timeout) on the same port and data. Throughout, no revoked token is accepted past the cache's
//! staleness bound, no live token is refused, every read is an answer or an error within 10 s,
//! the cache serves no hits while its server is dead; after the restart logins work again and
//! the cache serves hits again within 30 s (the bound asserted; the time measured is printed,
//! `postgres restart: … recovery 1.23 s …`), and a token revoked then is refused after the
//! bound. Each test is bounded to 120 s. See `authtoken_tests::restarts::crash_mid_load`.
//!
//! The servers are private, never the shared ones: `.ci/private-servers start DIR` starts a
//! PostgreSQL, a MariaDB and a Redis on free loopback ports and prints their URLs. Set
//!
//! - `AUTHTOKEN_TEST_PRIVATE_URLS` to that line (`postgres://…,mysql://…,redis://…`), and
//! - `AUTHTOKEN_TEST_PRIVATE_DIR` to DIR, through which the tests run `.ci/private-servers kill
//!   DIR pg|mariadb|redis` and `.ci/private-servers restart DIR …`.
//!
//! Without them the tests print `SKIPPED` and pass, except under `CI`, where they fail. Each test
//! kills only its own server, so they may run in parallel; no other suite uses these servers.

use authtoken_tests::restarts::{
    PrivateServers, Server, bounded, crash_mid_load, pg_logical_setup, redis_setup, sql_setup,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_load_recovers_without_accepting_a_revoked_token() {
    let Some(servers) = PrivateServers::from_env() else { return };
    bounded("postgres restart", async {
        let (rig, cleanup) = sql_setup(Server::Postgres, &servers.postgres).await;
        crash_mid_load(&servers, rig).await;
        cleanup.run().await;
    })
    .await;
    // The same server, the reader's cache on the logical channel: after the same test, not
    // beside it (both kill this server).
    bounded("postgres restart, logical channel", async {
        let (rig, cleanup) = pg_logical_setup(&servers.postgres).await;
        crash_mid_load(&servers, rig).await;
        cleanup.run().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_killed_mid_load_recovers_without_accepting_a_revoked_token() {
    let Some(servers) = PrivateServers::from_env() else { return };
    bounded("mariadb restart", async {
        let (rig, cleanup) = sql_setup(Server::MariaDb, &servers.mariadb).await;
        crash_mid_load(&servers, rig).await;
        cleanup.run().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_load_recovers_without_accepting_a_revoked_token() {
    let Some(servers) = PrivateServers::from_env() else { return };
    bounded("redis restart", async {
        let (rig, cleanup) = redis_setup(&servers.redis).await;
        crash_mid_load(&servers, rig).await;
        cleanup.run().await;
    })
    .await;
}
