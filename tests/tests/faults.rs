//! The database goes away: a proxy between the store's pool and PostgreSQL (or MariaDB) cuts or
//! stalls every connection. Calls fail with `Err` within a bound, never "not authenticated" and
//! never a user; a failed login leaves no row; the same store recovers when traffic flows again.

use std::time::{Duration, Instant};

use authtoken::{DatabaseStrategy, Error, ListTokens, User};
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers};
use authtoken_tests::Backend;
use authtoken_tests::proxy::{FaultProxy, Mode};
use authtoken_tests::sql::uuid_users::{UuidUsers, access_token, user};
use authtoken_tests::sql::{Engine, SqlBackend};
use sea_orm::{ConnectOptions, Database};

/// What the application sets: how long to wait for a connection, and for a whole call.
const ACQUIRE: Duration = Duration::from_secs(1);
const CALL: Duration = Duration::from_secs(2);
/// The bound every failing call must stay within (both waits, and slack for a loaded machine).
const BOUND: Duration = Duration::from_secs(8);

/// `host:port` of a test database URL; the `url` crate knows no default port for these schemes,
/// and a URL without one (`postgres://postgres@127.0.0.1/test`) is as valid as any.
fn upstream_of(url: &str, engine: Engine) -> String {
    let url = url::Url::parse(url).expect("a database URL");
    let default = if engine == Engine::Postgres { 5432 } else { 3306 };
    let host = url.host_str().filter(|h| !h.is_empty()).unwrap_or("localhost");
    format!("{host}:{}", url.port().unwrap_or(default))
}

#[test]
fn upstream_defaults_the_port_of_each_engine() {
    let pg = upstream_of("postgres://postgres@127.0.0.1/test", Engine::Postgres);
    assert_eq!(pg, "127.0.0.1:5432");
    assert_eq!(upstream_of("mysql://root@127.0.0.1/test", Engine::MySql), "127.0.0.1:3306");
    assert_eq!(upstream_of("mysql://root@[::1]:3307/test", Engine::MySql), "[::1]:3307");
}

async fn run(engine: Engine) {
    let Some(b) = SqlBackend::<UuidUsers>::setup(engine, None).await else { return };
    let upstream = upstream_of(&b.db.url, engine);
    let proxy = FaultProxy::start(upstream).await;
    let mut options = ConnectOptions::new(proxy.url_for(&b.db.url));
    options
        .max_connections(4)
        .acquire_timeout(ACQUIRE)
        .connect_timeout(ACQUIRE)
        .sqlx_logging(false);
    let conn = Database::connect(options).await.expect("connecting through the proxy");
    let store = SeaOrmStore::<access_token::Entity>::new(conn.clone()).with_timeout(CALL);
    let users = SeaOrmUsers::<user::Entity>::new(conn.clone()).with_timeout(CALL);
    // Tokens read directly, users through the proxy: the loader alone meets the fault.
    let direct = DatabaseStrategy::new(b.store(), Some(Duration::from_secs(3600))).unwrap();
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600))).unwrap();

    let alice = b.create_user(true).await;
    let token = strategy.write_token(&alice).await.unwrap().into_secret();
    let rows_before = b.store().list_of_user(alice.id()).await.unwrap().len();
    let mut faults = 0;

    for mode in [Mode::Cut, Mode::Stall] {
        proxy.set(mode);
        faults += 1;
        let started = Instant::now();
        let read = strategy.read_token(&token, &users).await;
        assert!(matches!(read, Err(Error::Store(_))), "{mode:?}: read gave {read:?}");
        assert!(started.elapsed() < BOUND, "{mode:?}: read took {:?}", started.elapsed());

        let started = Instant::now();
        let loaded = direct.read_token(&token, &users).await;
        assert!(matches!(loaded, Err(Error::UserLoader(_))), "{mode:?}: loader gave {loaded:?}");
        assert!(started.elapsed() < BOUND, "{mode:?}: loader took {:?}", started.elapsed());

        let joined = strategy.read_token::<user::Model, _>(&token, &authtoken::Joined).await;
        assert!(matches!(joined, Err(Error::Store(_))), "{mode:?}: joined read gave {joined:?}");

        let started = Instant::now();
        let login = strategy.write_token(&alice).await;
        assert!(matches!(login, Err(Error::Store(_))), "{mode:?}: login gave {login:?}");
        assert!(started.elapsed() < BOUND, "{mode:?}: login took {:?}", started.elapsed());
        assert!(matches!(strategy.destroy_token(&token, &alice).await, Err(Error::Store(_))));
        assert!(matches!(strategy.destroy_all_tokens(&alice).await, Err(Error::Store(_))));

        // Seen directly, not through the proxy: the failed login left no row, nothing was deleted.
        assert_eq!(
            b.store().list_of_user(alice.id()).await.unwrap().len(),
            rows_before,
            "{mode:?}"
        );

        proxy.set(Mode::Pass);
        let recovered = strategy.read_token(&token, &users).await;
        assert_eq!(recovered.unwrap().map(|(u, _)| u.id), Some(alice.id), "{mode:?}: no recovery");
        let again = strategy.write_token(&alice).await.expect("logins work again");
        assert!(strategy.destroy_token(again.expose_secret(), &alice).await.unwrap());
    }
    eprintln!("{engine:?}: {faults} fault modes injected, 7 calls checked in each");
    conn.close().await.ok();
    b.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outages_are_errors_and_the_store_recovers() {
    run(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_outages_are_errors_and_the_store_recovers() {
    run(Engine::MySql).await;
}
