//! Arbitrary strings presented as tokens, on every store: each is "not authenticated" or a no-op
//! logout, never a panic or a database error; nothing is written; and a string that is not the
//! shape of a token never reaches the store (its statements are counted).

use std::time::Duration;

use authtoken::token::is_well_formed;
use authtoken::{DatabaseStrategy, ListTokens, ManualClock, StorageMode, User};
use authtoken_tests::Backend;
use authtoken_tests::memory::MemoryBackend;
use authtoken_tests::spec::{harness, malformed_tokens, sha256_base64url};
use authtoken_tests::sql::{Engine, SqlBackend, uuid_users::UuidUsers};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

/// Cases drawn per store, besides the fixed list.
const CASES: u32 = 300;

/// Strings near a real token and far from it.
fn candidates(valid: String) -> impl Strategy<Value = String> {
    let len = valid.len();
    let near = valid.clone();
    prop_oneof![
        any::<String>(),
        "\\PC{0,64}",
        "[A-Za-z0-9_-]{43}",
        "[^A-Za-z0-9_-]{43}",
        "[A-Za-z0-9_=+/ .\\-]{42,44}",
        "[\\x00-\\x1f\\x7f]{1,50}",
        "(' OR |\"; DROP TABLE |--|/\\*|\\\\|%|_|UNION SELECT ){1,6}",
        (0..len, any::<char>()).prop_map(move |(at, c)| {
            let mut chars: Vec<char> = near.chars().collect();
            chars[at] = c;
            chars.into_iter().collect()
        }),
        prop::sample::select(vec![
            format!("{valid}\n"),
            format!(" {valid}"),
            format!("{valid} "),
            format!("Bearer {valid}"),
            valid.to_uppercase(),
            sha256_base64url(&valid),
            format!("{valid}\0"),
            "A".repeat(1 << 20),
        ]),
    ]
}

async fn check_store<B: Backend<Store: ListTokens>>(backend: B) {
    let h = harness(&backend, Some(Duration::from_secs(3600)), StorageMode::Hashed);
    let user = backend.create_user(true).await;
    let valid = h.strategy.write_token(&user).await.unwrap().into_secret();
    let rows_before = h.strategy.store().list_of_user(user.id()).await.unwrap();
    let calls_before = h.probe.calls();

    let mut inputs = malformed_tokens();
    let mut runner =
        TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    let strategy = candidates(valid.clone());
    for _ in 0..CASES {
        inputs.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    inputs.retain(|candidate| *candidate != valid);

    let mut shaped = 0;
    for candidate in &inputs {
        let calls = h.probe.calls();
        let read = h.strategy.read_token(candidate, backend.users()).await;
        assert!(matches!(read, Ok(None)), "{candidate:?} read as {read:?}");
        let logout = h.strategy.destroy_token(candidate, &user).await;
        assert!(matches!(logout, Ok(false)), "{candidate:?} logout gave {logout:?}");
        let inspected = h.strategy.inspect_token(candidate).await;
        assert!(inspected.is_ok(), "{candidate:?} inspect gave {inspected:?}");
        let queries = h.probe.calls() - calls;
        if is_well_formed(candidate) {
            shaped += 1;
            assert_eq!(queries, 3, "{candidate:?}: one lookup, one delete, one inspection");
        } else {
            assert_eq!(queries, 0, "{candidate:?} reached the store");
        }
    }
    let rows_after = h.strategy.store().list_of_user(user.id()).await.unwrap();
    assert_eq!(rows_after, rows_before, "bad input changed the table");
    let still = h.strategy.read_token(&valid, backend.users()).await.unwrap();
    assert_eq!(still.map(|(u, _)| u.id().clone()), Some(user.id().clone()));
    eprintln!(
        "{} bad inputs tried ({shaped} well-formed, {} refused without a query), {} store calls",
        inputs.len(),
        inputs.len() - shaped,
        h.probe.calls() - calls_before
    );
    backend.cleanup().await;
}

#[tokio::test]
async fn memory_store_refuses_bad_input() {
    check_store(MemoryBackend::new(uuid::Uuid::new_v4)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_bad_input() {
    let Some(b) = SqlBackend::<UuidUsers>::setup(Engine::Sqlite, None).await else { return };
    check_store(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_bad_input() {
    let Some(b) = SqlBackend::<UuidUsers>::setup(Engine::Postgres, None).await else { return };
    check_store(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_refuses_bad_input() {
    let Some(b) = SqlBackend::<UuidUsers>::setup(Engine::MySql, None).await else { return };
    check_store(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_refuses_bad_input() {
    let url = Some("redis://127.0.0.1:6379");
    let Some(b) = authtoken_tests::redis::setup("AUTHTOKEN_TEST_REDIS_URL", url).await else {
        return;
    };
    check_store(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_refuses_bad_input() {
    let variable = "AUTHTOKEN_TEST_REDIS_CLUSTER_URL";
    let Some(b) = authtoken_tests::redis::setup(variable, None).await else { return };
    check_store(b).await;
}

/// The joined read refuses the same inputs, on a real database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_read_refuses_bad_input() {
    use authtoken_tests::sql::uuid_users::{access_token, user};
    let Some(b) = SqlBackend::<UuidUsers>::setup(Engine::Sqlite, None).await else { return };
    let store = authtoken_sea_orm::SeaOrmStore::<access_token::Entity>::new(b.db.conn.clone());
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(60)))
        .unwrap()
        .with_clock(ManualClock::new(chrono::Utc::now()));
    let mut runner =
        TestRunner::new(Config { cases: 100, failure_persistence: None, ..Config::default() });
    runner
        .run(&any::<String>(), |candidate| {
            let read = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current()
                    .block_on(strategy.read_token::<user::Model, _>(&candidate, &authtoken::Joined))
            });
            prop_assert!(matches!(read, Ok(None)), "{:?} gave {:?}", candidate, read);
            Ok(())
        })
        .unwrap();
    b.cleanup().await;
}
