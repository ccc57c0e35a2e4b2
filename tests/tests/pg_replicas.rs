//! Token reads on PostgreSQL streaming standbys (`with_read_replicas` of the SeaORM and the
//! Diesel store), on a real primary with two synchronous standbys (`.ci/pg-replicas`): the
//! conformance kit with writes on the primary and reads on the standbys; rounds of
//! login-then-read and revoke-then-read with zero misses, and the same rounds without the
//! guarantee showing misses; a standby whose replay is paused or which is killed never lets a
//! revoked token in.

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

mod diesel_on_replicas {
    use authtoken_diesel::AsyncPgConnection;
    use authtoken_tests::diesel::{DieselBackend, UuidIds};
    authtoken_conformance::conformance_suite!(
        DieselBackend::<UuidIds, AsyncPgConnection>::setup_on_replicas(),
        listing,
        sessions,
        purging,
        limiting
    );
}

const ROUNDS: usize = 2000;

/// Held by each test that pauses or kills a standby, so that one never resumes or needs a
/// standby another has stopped (the conformance tests only wait while a standby is paused).
static STANDBYS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

type Store = SeaOrmStore<access_token::Entity<uuid::Uuid>>;
const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

async fn run(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Rounds of login-then-read and revoke-then-read through the standbys: zero misses. The same
/// rounds without the guarantee (a writer that does not wait for the standbys, reads straight
/// from a paused standby): every one misses, so the test can fail. A paused standby: reads keep
/// working, a revoke that cannot complete is an error, never a silent success, and its token is
/// refused once it does. A standby killed mid-reads: every answer right or an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_across_nodes_miss_nothing_paused_or_killed() {
    let Some(set) = replica_set() else { return };
    let _standbys = STANDBYS.lock().await;
    let Some(backend) = SqlBackend::<UuidUsers>::setup_on_replicas().await else { return };
    let strategy = DatabaseStrategy::new(backend.store(), HOUR).unwrap();
    let users = backend.users();
    let pools = set.replica_pools(&backend.db).await;
    let user = backend.create_user(true).await;

    let mut misses = 0;
    for _ in 0..ROUNDS {
        let token = strategy.write_token(&user).await.unwrap().into_secret();
        if strategy.read_token(&token, users).await.unwrap().is_none() {
            misses += 1; // a fresh login refused: read-your-writes broken
        }
        strategy.destroy_token(&token, &user).await.unwrap();
        if strategy.read_token(&token, users).await.unwrap().is_some() {
            misses += 1; // a revoked token accepted
        }
    }
    let stats = backend.db_store().replica_stats();
    println!("{ROUNDS} rounds through the standbys: {misses} misses, {stats:?}");
    assert_eq!(misses, 0);
    let lag = replay_lag_ms(&backend.db.conn).await;
    println!("the standbys' replay lag after the rounds, as the primary measured it: {lag:?} ms");

    // Without the guarantee: a writer that does not wait for the standbys, and reads straight
    // from standby 1, paused.
    let local = format!("{}?options=-c%20synchronous_commit%3Dlocal", backend.db.url);
    let local_pool = sea_orm::Database::connect(&local).await.unwrap();
    let writer = DatabaseStrategy::new(Store::new(local_pool.clone()), HOUR).unwrap();
    let settled: Vec<String> = {
        let mut tokens = Vec::new();
        for _ in 0..ROUNDS {
            tokens.push(strategy.write_token(&user).await.unwrap().into_secret());
        }
        tokens
    };
    run(&pools[0], "SELECT pg_wal_replay_pause()").await;
    // Resumed however the test ends: a standby left paused would hold up every later test.
    let resume = ResumeReplay(set.replicas[0].clone());
    let unguarded = DatabaseStrategy::new(Store::new(pools[0].clone()), HOUR).unwrap();
    let mut unguarded_misses = 0;
    for revoked in &settled {
        let token = writer.write_token(&user).await.unwrap().into_secret();
        if unguarded.read_token_row(&token).await.unwrap().is_none() {
            unguarded_misses += 1;
        }
        writer.destroy_token(revoked, &user).await.unwrap();
        if unguarded.read_token_row(revoked).await.unwrap().is_some() {
            unguarded_misses += 1;
        }
    }
    println!(
        "{ROUNDS} rounds without the guarantee, read on paused standby 1: {unguarded_misses} misses"
    );
    assert!(unguarded_misses > 0, "reading a paused standby directly missed nothing");

    // Through the store, standby 1 still paused (the primary's own commits wait for it): reads
    // keep working, and the tokens the writer above revoked are refused.
    let hasty =
        DatabaseStrategy::new(backend.db_store().with_timeout(Duration::from_secs(1)), HOUR)
            .unwrap();
    let before = backend.db_store().replica_stats();
    let mut answered = 0;
    for token in settled.iter().take(50) {
        // Revoked above by the writer that does not wait: refused through the store.
        assert!(
            hasty.read_token(token, users).await.unwrap().is_none(),
            "a revoked token accepted"
        );
        answered += 1;
    }
    let after = backend.db_store().replica_stats();
    println!(
        "{answered} reads with standby 1 paused: {} by a standby, {} by the primary",
        after.served - before.served,
        after.to_primary - before.to_primary
    );
    drop(resume);

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
    for (name, value, refused_for) in [
        ("synchronous_standby_names", "'ANY 1 (s1, s2)'", "ANY 1 of 2"),
        ("synchronous_commit", "on", "remote_apply"),
    ] {
        let _restore = RestoreSetting(set.primary.clone(), name);
        run(&primary, &format!("ALTER SYSTEM SET {name} = {value}")).await;
        run(&primary, "SELECT pg_reload_conf()").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = Store::new(primary.clone()).with_read_replicas(pools.clone()).await;
        let why = refusal(refused);
        assert!(why.contains(refused_for), "{why}");
    }
    local_pool.close().await.unwrap();
    backend.cleanup().await;
}

/// The Diesel store: rounds of login-then-read and revoke-then-read through the standbys, by
/// the plain read and the joined read, zero misses; with standby 1's replay paused, tokens
/// revoked by a writer that does not wait for it are refused; the start check refuses a primary
/// given as a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diesel_rounds_across_nodes_miss_nothing() {
    use authtoken_diesel::{AsyncPgConnection, DieselStore};
    use authtoken_tests::diesel::{DieselBackend, Ids, UuidIds};
    type DieselPg = DieselStore<<UuidIds as Ids>::Table, AsyncPgConnection>;

    let Some(set) = replica_set() else { return };
    let _standbys = STANDBYS.lock().await;
    let Some(backend) = DieselBackend::<UuidIds, AsyncPgConnection>::setup_on_replicas().await
    else {
        return;
    };
    let strategy = DatabaseStrategy::new(backend.store(), HOUR).unwrap();
    let users = backend.users();
    let user = backend.create_user(true).await;
    let mut misses = 0;
    for round in 0..ROUNDS {
        let token = strategy.write_token(&user).await.unwrap().into_secret();
        // Every other round by the joined read (the token and its user in one query).
        let found = match round % 2 {
            0 => strategy.read_token(&token, users).await.unwrap().is_some(),
            _ => strategy.read_token(&token, &authtoken::Joined).await.unwrap().is_some(),
        };
        misses += usize::from(!found);
        strategy.destroy_token(&token, &user).await.unwrap();
        let found = match round % 2 {
            0 => strategy.read_token(&token, users).await.unwrap().is_some(),
            _ => strategy.read_token(&token, &authtoken::Joined).await.unwrap().is_some(),
        };
        misses += usize::from(found);
    }
    let stats = backend.store.replica_stats();
    println!("Diesel: {ROUNDS} rounds through the standbys: {misses} misses, {stats:?}");
    assert_eq!(misses, 0);
    // Half the reads are of revoked tokens, which a standby cannot answer (a miss goes to the
    // primary); most of the other half must have been answered by a standby.
    assert!(stats.served > ROUNDS as u64 / 2, "the standbys answered too few reads: {stats:?}");

    // Standby 1 paused, tokens revoked by a writer that does not wait for the standbys.
    let local = format!("{}?options=-c%20synchronous_commit%3Dlocal", backend.db.url);
    let local_pool = authtoken_diesel::connect::<AsyncPgConnection>(&local, 2).await.unwrap();
    let writer = DatabaseStrategy::new(DieselPg::new(local_pool), HOUR).unwrap();
    let tokens: Vec<String> = {
        let mut tokens = Vec::new();
        for _ in 0..50 {
            tokens.push(strategy.write_token(&user).await.unwrap().into_secret());
        }
        tokens
    };
    let standby = sea_orm::Database::connect(backend.db.url_through(&set.replicas[0])).await;
    let standby = standby.unwrap();
    run(&standby, "SELECT pg_wal_replay_pause()").await;
    let resume = ResumeReplay(set.replicas[0].clone());
    for token in &tokens {
        writer.destroy_token(token, &user).await.unwrap();
    }
    // Standby 2 has the revokes (the writer did not wait for it): only standby 1 is behind.
    let standby_2 = sea_orm::Database::connect(backend.db.url_through(&set.replicas[1])).await;
    let standby_2 = standby_2.unwrap();
    wait_until_replayed(&backend.db.conn, &standby_2).await;
    standby_2.close().await.ok();
    let hasty = backend.store.clone().with_timeout(Duration::from_secs(1));
    let hasty = DatabaseStrategy::new(hasty, HOUR).unwrap();
    for token in &tokens {
        assert!(hasty.read_token(token, users).await.unwrap().is_none(), "a revoked token read");
        let joined = hasty.read_token(token, &authtoken::Joined).await.unwrap();
        assert!(joined.is_none(), "a revoked token read by the joined read");
    }
    drop(resume);
    standby.close().await.ok();

    // The start check, as the SeaORM store's.
    let primary = authtoken_diesel::connect::<AsyncPgConnection>(&backend.db.url, 2).await;
    let primary = primary.unwrap();
    let itself = DieselPg::new(primary.clone()).with_read_replicas(vec![primary]).await;
    match itself {
        Err(authtoken::Error::Replicas(why)) => assert!(why.contains("not a standby"), "{why}"),
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("a primary accepted as a replica"),
    }
    drop((strategy, writer, hasty));
    backend.cleanup().await;
}

/// Waits until `standby` has replayed everything `primary` has written so far.
async fn wait_until_replayed(primary: &DatabaseConnection, standby: &DatabaseConnection) {
    let one = |sql: &str| {
        sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql.to_owned())
    };
    let row = primary.query_one_raw(one("SELECT pg_current_wal_lsn()::text AS lsn")).await;
    let lsn: String = row.unwrap().unwrap().try_get("", "lsn").unwrap();
    let check = format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn AS done");
    for _ in 0..3000 {
        let row = standby.query_one_raw(one(&check)).await.unwrap().unwrap();
        if row.try_get::<bool>("", "done").unwrap() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the standby did not replay up to {lsn} in 30 s");
}

/// The longest replay lag the primary last measured for its standbys, in milliseconds.
async fn replay_lag_ms(primary: &DatabaseConnection) -> Option<f64> {
    primary
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT COALESCE(MAX(EXTRACT(EPOCH FROM replay_lag) * 1000), 0)::float8 AS ms \
             FROM pg_stat_replication",
        ))
        .await
        .unwrap()
        .map(|row| row.try_get::<f64>("", "ms").unwrap())
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

/// Puts a setting of the primary back to its configuration file's when dropped.
struct RestoreSetting(String, &'static str);

impl Drop for RestoreSetting {
    fn drop(&mut self) {
        let reset = format!("ALTER SYSTEM RESET {}", self.1);
        for sql in [reset.as_str(), "SELECT pg_reload_conf()"] {
            let _ = std::process::Command::new("psql")
                .args([self.0.as_str(), "-Atqc", sql])
                .stdout(std::process::Stdio::null())
                .status();
        }
    }
}
