//! The primary of a replica set lost (`.ci/pg-replicas kill DIR 0`, a crash: SIGKILL) under
//! stores that read on its standbys: every write is an error within the store's timeout, never
//! a silent success; every read answers right or fails (standbys cut off from their primary
//! cannot show that they are current, so their reads go to the primary, which is gone); once
//! it is back, both work again and nothing was lost or revived. A test binary of its own: the
//! other replica tests need the primary while they run.

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken_conformance::Backend;
use authtoken_diesel::{AsyncPgConnection, DieselStore};
use authtoken_tests::diesel::{Ids, UuidIds};
use authtoken_tests::sql::replicas::{ReplicaSet, replica_set};
use authtoken_tests::sql::{SqlBackend, uuid_users::UuidUsers};

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));
const TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the primary again when dropped (after a failed assertion too): every later test
/// needs it.
struct RestartPrimary<'a>(&'a ReplicaSet);

impl Drop for RestartPrimary<'_> {
    fn drop(&mut self) {
        self.0.script("restart", 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_primary_fails_writes_and_never_reads_wrong() {
    let Some(set) = replica_set() else { return };
    let Some(backend) = SqlBackend::<UuidUsers>::setup_on_replicas().await else { return };
    let sea_orm = DatabaseStrategy::new(backend.db_store().with_timeout(TIMEOUT), HOUR).unwrap();
    // The Diesel store on the same tables, its reads on the same standbys.
    let pool = authtoken_diesel::connect::<AsyncPgConnection>(&backend.db.url, 4).await.unwrap();
    let diesel = DieselStore::<<UuidIds as Ids>::Table, AsyncPgConnection>::new(pool);
    let diesel =
        diesel.with_timeout(TIMEOUT).with_read_replicas(set.diesel_pools(&backend.db).await);
    let diesel = DatabaseStrategy::new(diesel.await.expect("the replicas"), HOUR).unwrap();
    let users = backend.users();
    let user = backend.create_user(true).await;
    let live = sea_orm.write_token(&user).await.unwrap().into_secret();
    let dead = sea_orm.write_token(&user).await.unwrap().into_secret();
    sea_orm.destroy_token(&dead, &user).await.unwrap();

    set.script("kill", 0);
    let restart = RestartPrimary(&set);
    let (mut silent, mut wrong, mut read_errors) = (0, 0, 0);
    for _ in 0..5 {
        // Writes: a login, and a logout of the live token, through either store.
        silent += usize::from(sea_orm.write_token(&user).await.is_ok());
        silent += usize::from(diesel.write_token(&user).await.is_ok());
        silent += usize::from(sea_orm.destroy_token(&live, &user).await.is_ok());
        silent += usize::from(diesel.destroy_token(&live, &user).await.is_ok());
        // Reads: right, or an error.
        for (token, valid) in [(&live, true), (&dead, false)] {
            for found in [
                sea_orm.read_token(token, users).await.map(|f| f.is_some()),
                diesel.read_token(token, users).await.map(|f| f.is_some()),
            ] {
                match found {
                    Ok(found) => wrong += usize::from(found != valid),
                    Err(_) => read_errors += 1,
                }
            }
        }
    }
    println!(
        "primary down: 20 writes, {silent} reported as done; 20 reads, {wrong} wrong, \
         {read_errors} errors"
    );
    assert_eq!(silent, 0, "a write reported as done while the primary was down");
    assert_eq!(wrong, 0, "a wrong answer while the primary was down");
    drop(restart);

    // Back: the live token still works (its logouts failed), the dead one stays dead, writes
    // and reads go through again.
    for strategy_reads in [
        sea_orm.read_token(&live, users).await.unwrap().is_some(),
        diesel.read_token(&live, users).await.unwrap().is_some(),
        sea_orm.read_token(&dead, users).await.unwrap().is_none(),
        diesel.read_token(&dead, users).await.unwrap().is_none(),
    ] {
        assert!(strategy_reads, "a token's state changed across the primary's loss");
    }
    let fresh = diesel.write_token(&user).await.unwrap().into_secret();
    assert!(sea_orm.read_token(&fresh, users).await.unwrap().is_some());
    sea_orm.destroy_token(&fresh, &user).await.unwrap();
    assert!(diesel.read_token(&fresh, users).await.unwrap().is_none());
    drop(diesel); // its pools first: PostgreSQL will not drop a database in use
    backend.cleanup().await;
}
