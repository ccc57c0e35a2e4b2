//! Token reads on PostgreSQL streaming standbys (`SeaOrmStore::with_read_replicas`), on a real
//! primary with two synchronous standbys (`.ci/pg-replicas`): the conformance kit with writes on
//! the primary and reads on the standbys; rounds of login-then-read and revoke-then-read with
//! zero misses, and the same rounds without the guarantee showing misses; a standby whose replay
//! is paused or which is killed never lets a revoked token in.

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken_conformance::Backend;
use authtoken_sea_orm::{SeaOrmStore, access_token};
use authtoken_tests::sql::replicas::replica_set;
use authtoken_tests::sql::{SqlBackend, uuid_users::UuidUsers};
use sea_orm::{ConnectionTrait, DatabaseConnection};

mod on_replicas {
    use super::*;
    authtoken_conformance::conformance_suite!(
        SqlBackend::<UuidUsers>::setup_on_replicas(),
        listing,
        sessions,
        purging,
        limiting
    );
}

const ROUNDS: usize = 2000;

type Store = SeaOrmStore<access_token::Entity<uuid::Uuid>>;
const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

async fn run(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Rounds of login-then-read and revoke-then-read through the standbys while standby 1's replay
/// is paused: through the store, zero misses (a standby behind sends the read to the primary);
/// through a plain store on standby 1, which is what reading a standby without the guarantee
/// is, every round misses (the test can fail). Then standby 2 is killed mid-reads: every answer
/// is right or an error, never a revoked token accepted; it is restarted at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_across_nodes_miss_nothing_paused_or_killed() {
    let Some(set) = replica_set() else { return };
    let Some(backend) = SqlBackend::<UuidUsers>::setup_on_replicas().await else { return };
    let strategy = DatabaseStrategy::new(backend.store(), HOUR).unwrap();
    let users = backend.users();
    let pools = set.replica_pools(&backend.db).await;
    let user = backend.create_user(true).await;

    // Tokens standby 1 holds before its replay stops: revoked while it is paused.
    let mut before = Vec::new();
    for _ in 0..ROUNDS / 10 {
        before.push(strategy.write_token(&user).await.unwrap().into_secret());
    }
    let replayed = |standby: usize| {
        let pool = pools[standby].clone();
        async move { caught_up(&pool).await }
    };
    while !replayed(0).await {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    run(&pools[0], "SELECT pg_wal_replay_pause()").await;
    // Resumed however the test ends: a standby left paused would hold up every later test.
    let _resume = ResumeReplay(set.replicas[0].clone());

    let mut misses = 0;
    for round in 0..ROUNDS {
        let token = strategy.write_token(&user).await.unwrap().into_secret();
        if strategy.read_token(&token, users).await.unwrap().is_none() {
            misses += 1; // a fresh login refused: read-your-writes broken
        }
        let revoked = before.get(round).cloned().unwrap_or(token);
        strategy.destroy_token(&revoked, &user).await.unwrap();
        if strategy.read_token(&revoked, users).await.unwrap().is_some() {
            misses += 1; // a revoked token accepted
        }
    }
    let stats = backend.db_store().replica_stats();
    println!("{ROUNDS} rounds through the standbys, standby 1 paused: {misses} misses, {stats:?}");
    assert_eq!(misses, 0);
    // Reads of settled tokens, the usual traffic: standby 2 answers its share (standby 1,
    // paused, sends its share to the primary).
    let settled: Vec<String> = before[..ROUNDS / 20].to_vec();
    let mut live = Vec::new();
    for _ in &settled {
        live.push(strategy.write_token(&user).await.unwrap().into_secret());
    }
    while !replayed(1).await {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let served = backend.db_store().replica_stats().served;
    for token in &live {
        for _ in 0..4 {
            assert!(strategy.read_token(token, users).await.unwrap().is_some());
        }
    }
    let served = backend.db_store().replica_stats().served - served;
    println!("{} reads of settled tokens: {served} answered by a standby", live.len() * 4);
    assert!(served > 0, "the standbys answered none of the settled tokens");

    // Without the guarantee: reads on standby 1 as if it were the database.
    let unguarded = DatabaseStrategy::new(Store::new(pools[0].clone()), HOUR).unwrap();
    let mut unguarded_misses = 0;
    for round in 0..ROUNDS {
        let token = strategy.write_token(&user).await.unwrap().into_secret();
        if unguarded.read_token_row(&token).await.unwrap().is_none() {
            unguarded_misses += 1;
        }
        if let Some(revoked) = before.get(round % before.len())
            && unguarded.read_token_row(revoked).await.unwrap().is_some()
        {
            unguarded_misses += 1;
        }
    }
    println!(
        "{ROUNDS} rounds read on paused standby 1 without the guarantee: {unguarded_misses} misses"
    );
    assert!(unguarded_misses > 0, "reading a paused standby directly missed nothing");
    run(&pools[0], "SELECT pg_wal_replay_resume()").await;

    // Standby 2 killed mid-reads: answers stay right (the read goes elsewhere) or fail.
    let live = strategy.write_token(&user).await.unwrap().into_secret();
    let dead = strategy.write_token(&user).await.unwrap().into_secret();
    strategy.destroy_token(&dead, &user).await.unwrap();
    let mut wrong = 0;
    let mut errors = 0;
    for i in 0..400 {
        if i == 100 {
            set.script("kill", 2);
        }
        for (token, valid) in [(&live, true), (&dead, false)] {
            match strategy.read_token(token, users).await {
                Ok(found) if found.is_some() != valid => wrong += 1,
                Ok(_) => {}
                Err(_) => errors += 1,
            }
        }
    }
    set.script("restart", 2);
    println!("800 reads with standby 2 killed after 200: {wrong} wrong, {errors} errors");
    assert_eq!(wrong, 0, "a wrong answer while a standby was down");

    // The start check refuses what cannot keep revocation absolute, naming it.
    let refusal = |outcome: authtoken::Result<Store>| match outcome {
        Err(authtoken::Error::Replicas(why)) => why,
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("accepted"),
    };
    let primary = backend.db.conn.clone();
    let itself = Store::new(primary.clone()).with_read_replicas(vec![primary.clone()]).await;
    assert!(refusal(itself).contains("not a standby"));
    {
        let _restore = RestoreSetting(set.primary.clone());
        run(&primary, "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (s1, s2)'").await;
        run(&primary, "SELECT pg_reload_conf()").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let any_one = Store::new(primary.clone()).with_read_replicas(pools.clone()).await;
        let why = refusal(any_one);
        assert!(why.contains("ANY 1 of 2"), "{why}");
    }
    backend.cleanup().await;
}

/// Whether the standby behind `pool` has replayed everything it received.
async fn caught_up(pool: &DatabaseConnection) -> bool {
    let row = pool
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS caught_up",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<bool>("", "caught_up").unwrap()
}

/// Resumes a standby's replay when dropped (after a failed assertion too).
struct ResumeReplay(String);

impl Drop for ResumeReplay {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args([self.0.as_str(), "-Atqc", "SELECT pg_wal_replay_resume()"])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

/// Puts the primary's `synchronous_standby_names` back to its configuration file's when dropped.
struct RestoreSetting(String);

impl Drop for RestoreSetting {
    fn drop(&mut self) {
        for sql in ["ALTER SYSTEM RESET synchronous_standby_names", "SELECT pg_reload_conf()"] {
            let _ =
                std::process::Command::new("psql").args([self.0.as_str(), "-Atqc", sql]).status();
        }
    }
}
