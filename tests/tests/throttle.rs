//! The login throttle on every store it has: in memory, on Redis and a Redis Cluster, and in
//! SQLite, PostgreSQL and MariaDB through SeaORM; each run through the same spec, and the shared
//! ones also by three OS processes bursting at once.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use authtoken::throttle::LoginThrottle;
use authtoken_http::MemoryThrottle;
use authtoken_migration::CreateLoginThrottleTable;
use authtoken_redis::{RedisStore, RedisThrottle};
use authtoken_sea_orm::SeaOrmThrottle;
use authtoken_tests::sql::{Engine, TestDb};
use authtoken_tests::throttle::{policy, run};
use sea_orm_migration::{MigrationTrait, SchemaManager};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory() {
    // One process's memory: every handle is the same map.
    let shared: Arc<Mutex<Option<Arc<dyn LoginThrottle>>>> = Arc::default();
    run(|clock| {
        let shared = Arc::clone(&shared);
        async move {
            let mut shared = shared.lock().unwrap();
            let throttle = shared.get_or_insert_with(|| {
                Arc::new(MemoryThrottle::with_policy(policy()).with_clock(clock))
            });
            Arc::clone(throttle)
        }
    })
    .await;
}

fn redis_url(variable: &str, default: Option<&str>) -> Option<String> {
    let url = std::env::var(variable).ok().filter(|u| !u.is_empty()).or(default.map(str::to_owned));
    if url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{variable} is not set: CI must run every backend"
        );
        eprintln!("SKIPPED: {variable} is not set");
    }
    url
}

async fn redis_spec(url: &str) {
    let prefix = format!("authtoken-test:{}:", uuid::Uuid::new_v4().simple());
    run(|clock| {
        let (url, prefix) = (url.to_owned(), prefix.clone());
        async move {
            let store = RedisStore::<u64>::connect(&url).await.expect("Redis").with_prefix(&prefix);
            Arc::new(RedisThrottle::new(&store, policy()).with_clock(clock))
                as Arc<dyn LoginThrottle>
        }
    })
    .await;
    delete_keys(url, &prefix).await;
}

async fn delete_keys(url: &str, prefix: &str) {
    let store = RedisStore::<u64>::connect(url).await.expect("Redis").with_prefix(prefix);
    let throttle = RedisThrottle::new(&store, policy());
    throttle
        .unlock(&authtoken_tests::throttle::keys_used())
        .await
        .expect("the test's keys deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis() {
    let Some(url) = redis_url("AUTHTOKEN_TEST_REDIS_URL", Some("redis://127.0.0.1:6379")) else {
        return;
    };
    redis_spec(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster() {
    let Some(url) = redis_url("AUTHTOKEN_TEST_REDIS_CLUSTER_URL", None) else { return };
    redis_spec(&url).await;
}

async fn sql_spec(engine: Engine) {
    let Some(db) = TestDb::create(engine, None).await else { return };
    let manager = SchemaManager::new(&db.conn);
    CreateLoginThrottleTable::new().up(&manager).await.expect("the throttle table");
    run(|clock| {
        let url = db.url.clone();
        async move {
            let conn = sea_orm::Database::connect(url.as_str()).await.expect("the database");
            Arc::new(SeaOrmThrottle::new(conn, policy()).with_clock(clock))
                as Arc<dyn LoginThrottle>
        }
    })
    .await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    sql_spec(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    sql_spec(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql() {
    sql_spec(Engine::MySql).await;
}

/// Three processes, each bursting 20 attempts for one account at the same moment through its own
/// connection: 5 granted in all, as in one process.
fn three_processes_share_the_allowance(kind: &str, url: &str, name: &str) {
    let mut peers: Vec<(Child, BufReader<std::process::ChildStdout>)> = (0..3)
        .map(|_| {
            let mut child = Command::new(env!("CARGO_BIN_EXE_throttle_peer"))
                .args([kind, url, name, "20"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("the peer process");
            let mut out = BufReader::new(child.stdout.take().expect("its stdout"));
            let mut line = String::new();
            out.read_line(&mut line).expect("its ready line");
            assert_eq!(line.trim(), "ready");
            (child, out)
        })
        .collect();
    for (child, _) in &mut peers {
        writeln!(child.stdin.as_mut().expect("its stdin"), "go").expect("go");
    }
    let mut granted = 0;
    for (mut child, mut out) in peers {
        let mut line = String::new();
        out.read_line(&mut line).expect("its count");
        granted += line.trim().parse::<usize>().unwrap_or_else(|_| panic!("a count: {line:?}"));
        assert!(child.wait().expect("the peer's exit").success());
    }
    assert_eq!(granted, 5, "{kind}: attempts granted across three processes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_across_processes() {
    let Some(url) = redis_url("AUTHTOKEN_TEST_REDIS_URL", Some("redis://127.0.0.1:6379")) else {
        return;
    };
    let prefix = format!("authtoken-test:{}:", uuid::Uuid::new_v4().simple());
    let (u, p) = (url.clone(), prefix.clone());
    tokio::task::spawn_blocking(move || three_processes_share_the_allowance("redis", &u, &p))
        .await
        .expect("the peers");
    delete_keys(&url, &prefix).await;
}

async fn sql_across_processes(engine: Engine) {
    let Some(db) = TestDb::create(engine, None).await else { return };
    let manager = SchemaManager::new(&db.conn);
    CreateLoginThrottleTable::new().up(&manager).await.expect("the throttle table");
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        three_processes_share_the_allowance("sql", &url, authtoken_sea_orm::DEFAULT_THROTTLE_TABLE)
    })
    .await
    .expect("the peers");
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_across_processes() {
    sql_across_processes(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_across_processes() {
    sql_across_processes(Engine::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_across_processes() {
    sql_across_processes(Engine::Sqlite).await;
}

/// Without its table the shared throttle is an error on every attempt: a 500, never an
/// unthrottled login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_is_an_error_not_a_free_attempt() {
    let Some(db) = TestDb::create(Engine::Sqlite, None).await else { return };
    let throttle = SeaOrmThrottle::new(db.conn.clone(), policy());
    let keys = [authtoken::throttle::ThrottleKey::account("ada")];
    assert!(throttle.reserve(&keys).await.is_err());
    db.drop_database().await;
}
