//! Losing a Galera node mid-load (`AUTHTOKEN_TEST_GALERA_URLS`, and `AUTHTOKEN_TEST_GALERA_DIR`
//! to crash and restart it): clients of the surviving nodes keep working without an error, the
//! dead node's client gets prompt errors and never a wrong answer, and the node rejoins with what
//! it missed. In a binary of its own: no other test runs while a node is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use authtoken::{DatabaseStrategy, User};
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers, access_token};
use authtoken_tests::Backend;
use authtoken_tests::galera::{
    CAUSAL_SESSION, ClusterControl, CrossNodeStore, GaleraBackend, node_urls,
};
use authtoken_tests::sql::i64_users::{I64Users, user};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// The node that dies (the backend's tables and users go through the first two).
const DEAD: usize = 2;
/// The dead node's client gives up on a call after this long.
const DEAD_NODE_TIMEOUT: Duration = Duration::from_secs(2);
/// Survivors wait out the view change: the cluster notices a crashed peer after its suspect
/// timeout (5 s by default), and commits wait until then.
const SURVIVOR_TIMEOUT: Duration = Duration::from_secs(60);
/// Rounds each client completes before the crash, and each survivor after it.
const ROUNDS: u64 = 30;

type Store = SeaOrmStore<access_token::Entity<i64>>;

/// What one client saw.
#[derive(Debug, Default)]
struct Tally {
    errors: u64,
    slowest_error: Duration,
    slowest_round: Duration,
    wrong: Vec<String>,
}

/// A client: login, read, log out, read again, until told to stop; every answer checked.
struct Client<S: authtoken::AccessTokenStore<UserId = i64>> {
    strategy: DatabaseStrategy<S>,
    users: SeaOrmUsers<user::Entity>,
    user: user::Model,
    rounds: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl<S: authtoken::AccessTokenStore<UserId = i64> + 'static> Client<S> {
    async fn run(self) -> Tally {
        let mut tally = Tally::default();
        while !self.stop.load(Ordering::Acquire) {
            let started = Instant::now();
            let outcome = self.round().await;
            tally.slowest_round = tally.slowest_round.max(started.elapsed());
            match outcome {
                Ok(()) => {}
                Err(Outcome::Wrong(what)) => tally.wrong.push(what),
                Err(Outcome::Failed) => {
                    tally.errors += 1;
                    tally.slowest_error = tally.slowest_error.max(started.elapsed());
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            self.rounds.fetch_add(1, Ordering::AcqRel);
        }
        tally
    }

    async fn round(&self) -> Result<(), Outcome> {
        let token = self.strategy.write_token(&self.user).await?.into_secret();
        match self.strategy.read_token(&token, &self.users).await? {
            Some((user, _)) if user.id() == self.user.id() => {}
            Some(_) => return Err(Outcome::Wrong("a token named another user".into())),
            None => return Err(Outcome::Wrong("a login was not seen".into())),
        }
        if !self.strategy.destroy_token(&token, &self.user).await? {
            return Err(Outcome::Wrong("a fresh token was not there to revoke".into()));
        }
        if self.strategy.read_token(&token, &self.users).await?.is_some() {
            return Err(Outcome::Wrong("a revoked token was accepted".into()));
        }
        Ok(())
    }
}

enum Outcome {
    /// An answer that contradicts what the client did.
    Wrong(String),
    /// A call failed (an error, not an answer).
    Failed,
}

impl From<authtoken::Error> for Outcome {
    fn from(_: authtoken::Error) -> Self {
        Outcome::Failed
    }
}

/// Waits until `done()`, failing after `limit` (the load is not time-boxed, only bounded).
async fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn cluster_size(db: &DatabaseConnection) -> String {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SHOW STATUS LIKE 'wsrep_cluster_size'",
        ))
        .await
        .expect("asking the cluster's size")
        .expect("a row");
    row.try_get_by_index::<String>(1).expect("the size")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_a_node_mid_load_leaves_the_others_working_and_it_rejoins() {
    let Some(urls) = node_urls() else { return };
    let Some(control) = ClusterControl::from_env() else { return };
    assert!(urls.len() > DEAD, "the node-loss test needs three nodes");
    let Some(backend) = GaleraBackend::<I64Users>::setup().await else { return };
    let hour = Some(Duration::from_secs(3600));
    let surviving = |store: Store| store.with_timeout(SURVIVOR_TIMEOUT);
    let (first, second) = (surviving(backend.store().writer), surviving(backend.store().reader));
    let dead_pool = backend.db.connect_through(&urls[DEAD], None).await;
    let dead_store =
        Store::new(dead_pool.clone()).with_causal_reads().with_timeout(DEAD_NODE_TIMEOUT);
    let dead_users_pool = backend.db.connect_through(&urls[DEAD], Some(CAUSAL_SESSION)).await;

    // A token that lives through the crash and is revoked while the node is down.
    let keeper = backend.create_user(true).await;
    let keeper_strategy = DatabaseStrategy::new(first.clone(), hour).unwrap();
    let revoked_meanwhile = keeper_strategy.write_token(&keeper).await.unwrap().into_secret();
    let dead_strategy = DatabaseStrategy::new(dead_store.clone(), hour).unwrap();
    // The loader is bounded like the store: a read whose row came back just before the crash
    // must not then wait for the dead node's connection to time out (a minute).
    let dead_users =
        SeaOrmUsers::<user::Entity>::new(dead_users_pool.clone()).with_timeout(DEAD_NODE_TIMEOUT);
    assert!(dead_strategy.read_token(&revoked_meanwhile, &dead_users).await.unwrap().is_some());

    // Two survivors writing through one node and reading through the other, and a client of
    // the node that dies.
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Vec<Arc<AtomicU64>> = (0..3).map(|_| Arc::default()).collect();
    let survivor = |writer: &Store, reader: &Store, rounds: &Arc<AtomicU64>, user| Client {
        strategy: DatabaseStrategy::new(
            CrossNodeStore { writer: writer.clone(), reader: reader.clone() },
            hour,
        )
        .unwrap(),
        users: SeaOrmUsers::new(backend.second.clone()),
        user,
        rounds: Arc::clone(rounds),
        stop: Arc::clone(&stop),
    };
    let survivors = [
        tokio::spawn(
            survivor(&first, &second, &counters[0], backend.create_user(true).await).run(),
        ),
        tokio::spawn(
            survivor(&second, &first, &counters[1], backend.create_user(true).await).run(),
        ),
    ];
    let doomed = tokio::spawn(
        Client {
            strategy: DatabaseStrategy::new(dead_store.clone(), hour).unwrap(),
            users: SeaOrmUsers::new(dead_users_pool.clone()).with_timeout(DEAD_NODE_TIMEOUT),
            user: backend.create_user(true).await,
            rounds: Arc::clone(&counters[2]),
            stop: Arc::clone(&stop),
        }
        .run(),
    );
    let rounds = |i: usize| counters[i].load(Ordering::Acquire);
    wait_until("rounds before the crash", Duration::from_secs(120), || {
        (0..3).all(|i| rounds(i) >= ROUNDS)
    })
    .await;

    control.kill(DEAD).await;
    let at_kill: Vec<u64> = (0..3).map(rounds).collect();
    wait_until("rounds after the crash", Duration::from_secs(300), || {
        (0..2).all(|i| rounds(i) >= at_kill[i] + ROUNDS) && rounds(2) >= at_kill[2] + 5
    })
    .await;
    // While the node is down: the keeper's token is revoked, a new one issued.
    assert!(keeper_strategy.destroy_token(&revoked_meanwhile, &keeper).await.unwrap());
    let issued_meanwhile = keeper_strategy.write_token(&keeper).await.unwrap().into_secret();
    stop.store(true, Ordering::Release);

    for (i, survivor) in survivors.into_iter().enumerate() {
        let tally = survivor.await.expect("a survivor");
        eprintln!(
            "survivor {i}: {} rounds after the crash, the slowest {:?}",
            rounds(i) - at_kill[i],
            tally.slowest_round
        );
        assert_eq!(
            (tally.errors, tally.wrong.as_slice()),
            (0, &[] as &[String]),
            "survivor {i} (rounds {} before the crash, {} in all)",
            at_kill[i],
            rounds(i)
        );
    }
    let tally = doomed.await.expect("the dead node's client");
    eprintln!(
        "the dead node's client: {} errors, the slowest {:?}",
        tally.errors, tally.slowest_error
    );
    assert!(tally.wrong.is_empty(), "the dead node's client got wrong answers: {:?}", tally.wrong);
    assert!(tally.errors > 0, "the dead node's client never noticed the crash");
    assert!(
        tally.slowest_error <= DEAD_NODE_TIMEOUT + Duration::from_secs(5),
        "an error on the dead node took {:?}, past the store's timeout",
        tally.slowest_error
    );

    control.rejoin(DEAD).await;
    assert_eq!(cluster_size(&backend.db.conn).await, "3");
    // The rejoined node knows what it missed; its client's pool reconnects by itself (its first
    // calls may still meet connections the crash broke).
    let mut attempts = 0;
    let (revoked, issued) = loop {
        let revoked = dead_strategy.read_token(&revoked_meanwhile, &dead_users).await;
        let issued = dead_strategy.read_token(&issued_meanwhile, &dead_users).await;
        match (revoked, issued) {
            (Ok(revoked), Ok(issued)) => break (revoked, issued),
            _ if attempts < 20 => attempts += 1,
            (revoked, issued) => panic!("the rejoined node still fails: {revoked:?} {issued:?}"),
        }
    };
    assert!(revoked.is_none(), "the rejoined node accepted a token revoked while it was down");
    assert!(issued.is_some(), "the rejoined node refused a token issued while it was down");

    dead_pool.close().await.ok();
    dead_users_pool.close().await.ok();
    backend.cleanup().await;
}
