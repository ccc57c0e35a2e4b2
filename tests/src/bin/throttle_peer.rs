//! A second (and third) process of the shared throttle's test: it opens its own connection to
//! the throttle named by its arguments, waits for a line on stdin (so that every process starts
//! its burst at once), makes `ATTEMPTS` concurrent reservations for one account and prints how
//! many were granted.
//!
//! `throttle_peer redis URL PREFIX ATTEMPTS` or `throttle_peer sql URL TABLE ATTEMPTS`.

use std::io::BufRead;
use std::sync::Arc;

use authtoken::throttle::LoginThrottle;
use authtoken_redis::{RedisStore, RedisThrottle};
use authtoken_sea_orm::SeaOrmThrottle;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, url, name, attempts] = args.as_slice() else {
        panic!("usage: throttle_peer redis|sql URL PREFIX|TABLE ATTEMPTS");
    };
    let attempts: usize = attempts.parse().expect("a number of attempts");
    let policy = authtoken_tests::throttle::policy();
    let throttle: Arc<dyn LoginThrottle> = match kind.as_str() {
        "redis" => {
            let store = RedisStore::<u64>::connect(url).await.expect("Redis").with_prefix(name);
            Arc::new(RedisThrottle::new(&store, policy))
        }
        "sql" => {
            let db = sea_orm::Database::connect(url.as_str()).await.expect("the database");
            Arc::new(SeaOrmThrottle::with_table(db, name, policy))
        }
        other => panic!("unknown throttle {other}"),
    };
    println!("ready");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).expect("the go line");
    let granted = authtoken_tests::throttle::burst(&[throttle], attempts).await;
    println!("{granted}");
}
