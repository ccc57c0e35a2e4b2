//! The value a token key holds: `{created µs}:{user}` unless another format is chosen,
//! fastapi-users' bare user id in that format (whose TTL is the token's expiry), and each store
//! reading only its own format.

use std::time::Duration;

use authtoken::{DatabaseStrategy, StorageMode};
use authtoken_redis::{RedisStore, ValueFormat};
use authtoken_tests::Backend as _;
use authtoken_tests::memory::{MemoryUser, MemoryUsers};
use authtoken_tests::redis::RedisBackend;

mod common;

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

async fn raw(command: &redis::Cmd) -> redis::Value {
    let url = std::env::var("AUTHTOKEN_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    command.query_async(&mut connection).await.unwrap()
}

async fn value_of(store: &RedisStore<u64>, stored_key: &str) -> Option<String> {
    match raw(redis::cmd("GET").arg(format!("{}{stored_key}", store.prefix()))).await {
        redis::Value::BulkString(bytes) => Some(String::from_utf8(bytes).unwrap()),
        redis::Value::Nil => None,
        other => panic!("GET answered {other:?}"),
    }
}

async fn single() -> Option<RedisBackend> {
    common::setup("AUTHTOKEN_TEST_REDIS_URL", Some("redis://127.0.0.1:6379")).await
}

#[tokio::test]
async fn the_fastapi_users_format_writes_the_bare_user_id_and_the_default_the_native_value() {
    let Some(backend) = single().await else { return };
    let store = backend.store();
    let bare = store.clone().with_value_format(ValueFormat::UserIdOnly);
    let users = MemoryUsers::new();
    users.insert(MemoryUser { id: 7, is_active: true });
    let user = MemoryUser { id: 7u64, is_active: true };

    let plain =
        DatabaseStrategy::new(bare.clone(), HOUR).unwrap().with_storage_mode(StorageMode::Plain);
    let plain_token = plain.write_token(&user).await.unwrap();
    assert_eq!(value_of(&store, plain_token.expose_secret()).await.as_deref(), Some("7"));
    let row = plain.read_token_row(plain_token.expose_secret()).await.unwrap().unwrap();
    // The key's TTL is the row's own expiry: within the hour from now, and past most of it.
    let left = row.details.expires_at.expect("the TTL read as the expiry") - chrono::Utc::now();
    assert!(left <= chrono::TimeDelta::hours(1) && left > chrono::TimeDelta::minutes(59), "{left}");
    assert!(plain.read_token(plain_token.expose_secret(), &users).await.unwrap().is_some());

    let hashed = DatabaseStrategy::new(store.clone(), HOUR).unwrap();
    let token = hashed.write_token(&user).await.unwrap();
    let listed = authtoken::ListTokens::list_of_user(&store, &7).await.unwrap();
    let native =
        listed.iter().find(|row| row.token != plain_token.expose_secret()).expect("the hashed row");
    let value = value_of(&store, &native.token).await.unwrap();
    assert_eq!(value, format!("{}:7", native.created_at.timestamp_micros()));
    assert!(hashed.read_token(token.expose_secret(), &users).await.unwrap().is_some());
    backend.cleanup().await;
}

#[tokio::test]
async fn a_fixed_format_holds_whatever_the_mode_and_a_store_reads_only_its_own() {
    let Some(backend) = single().await else { return };
    let users = MemoryUsers::new();
    let user = MemoryUser { id: 8u64, is_active: true };
    users.insert(user.clone());
    let native = backend.store().with_value_format(ValueFormat::Native);
    let plain =
        DatabaseStrategy::new(native.clone(), HOUR).unwrap().with_storage_mode(StorageMode::Plain);
    let token = plain.write_token(&user).await.unwrap();
    let value = value_of(&native, token.expose_secret()).await.unwrap();
    assert!(value.ends_with(":8") && value.len() > 2, "{value}");

    // The same key read by a store in the other format: not a token of anyone.
    let bare = backend.store().with_value_format(ValueFormat::UserIdOnly);
    let other = DatabaseStrategy::new(bare, HOUR).unwrap().with_storage_mode(StorageMode::Plain);
    assert!(other.read_token(token.expose_secret(), &users).await.unwrap().is_none());
    backend.cleanup().await;
}

#[tokio::test]
async fn a_bare_value_is_deleted_only_by_its_owner() {
    let Some(backend) = single().await else { return };
    let store = backend.store().with_value_format(ValueFormat::UserIdOnly);
    let strategy =
        DatabaseStrategy::new(store.clone(), HOUR).unwrap().with_storage_mode(StorageMode::Plain);
    let owner = MemoryUser { id: 9u64, is_active: true };
    let stranger = MemoryUser { id: 10u64, is_active: true };
    let token = strategy.write_token(&owner).await.unwrap();
    assert!(!strategy.destroy_token(token.expose_secret(), &stranger).await.unwrap());
    assert_eq!(value_of(&store, token.expose_secret()).await.as_deref(), Some("9"));
    assert_eq!(strategy.destroy_all_tokens(&stranger).await.unwrap(), 0);
    assert!(strategy.destroy_token(token.expose_secret(), &owner).await.unwrap());
    assert_eq!(value_of(&store, token.expose_secret()).await, None);
    backend.cleanup().await;
}

async fn pttl(key: String) -> i64 {
    match raw(redis::cmd("PTTL").arg(key)).await {
        redis::Value::Int(ms) => ms,
        other => panic!("PTTL answered {other:?}"),
    }
}

/// With details the value is the documented JSON, which a native store refuses to read (and a
/// native delete cannot remove); a sliding use moves the key's TTL and the user index's with it,
/// so "log out everywhere" still finds the token.
#[tokio::test]
async fn detailed_values_are_json_and_a_sliding_use_moves_the_ttls() {
    let Some(backend) = single().await else { return };
    let store = backend.store().with_details();
    let user = MemoryUser { id: 9u64, is_active: true };
    let strategy = DatabaseStrategy::new(store.clone(), HOUR)
        .unwrap()
        .with_sliding_expiry(Duration::from_secs(600), Duration::from_secs(7200))
        .unwrap();
    let options = authtoken::IssueOptions::new()
        .name("nightly")
        .scopes(["read", "deploy:prod"])
        .lifetime(Duration::from_secs(20));
    let token = strategy.issue_token(&user, &options).await.unwrap().into_secret();
    let key = authtoken_conformance::spec::sha256_base64url(&token);
    let value = value_of(&store, &key).await.expect("the key");
    let json: serde_json::Value = serde_json::from_str(&value).expect("JSON");
    assert_eq!(json["u"], "9");
    assert_eq!(json["n"], "nightly");
    assert_eq!(json["s"], "read deploy:prod");
    assert!(json["e"].is_string() && json["c"].is_string(), "{value}");
    let index = format!("{}user:9", store.prefix());
    assert!(pttl(format!("{}{key}", store.prefix())).await <= 20_000);

    // The first use records the use but keeps the token's own 20 s (L2: sliding never carries
    // a token past the expiry it was issued with).
    assert!(strategy.read_token_row(&token).await.unwrap().is_some());
    assert!(pttl(format!("{}{key}", store.prefix())).await <= 20_000, "its own expiry moved");
    let used = value_of(&store, &key).await.unwrap();
    assert!(used.contains("\"l\""), "no last use recorded: {used}");

    // A session slides: five minutes after its login (its key's TTL cut to what would be left
    // then), a use moves the key's TTL and the user index's to 600 s after the use.
    let clock = authtoken::ManualClock::new(chrono::Utc::now());
    let sessions = DatabaseStrategy::new(store.clone(), HOUR)
        .unwrap()
        .with_sliding_expiry(Duration::from_secs(600), Duration::from_secs(7200))
        .unwrap()
        .with_clock(clock.clone());
    let session = sessions.write_token(&user).await.unwrap().into_secret();
    let session_key =
        format!("{}{}", store.prefix(), authtoken_conformance::spec::sha256_base64url(&session));
    raw(redis::cmd("PEXPIRE").arg(&session_key).arg(300_000)).await;
    raw(redis::cmd("PEXPIRE").arg(&index).arg(300_000)).await;
    clock.advance(chrono::TimeDelta::seconds(300));
    assert!(sessions.read_token_row(&session).await.unwrap().is_some());
    let ttl = pttl(session_key).await;
    assert!(ttl > 500_000, "the key's TTL did not move: {ttl} ms");
    assert!(pttl(index.clone()).await > 500_000, "the index would expire before its token");
    assert!(sessions.destroy_token(&session, &user).await.unwrap());

    // A store of the native format reads nothing there, and cannot delete it.
    let native = DatabaseStrategy::new(backend.store(), HOUR).unwrap();
    assert!(native.read_token_row(&token).await.unwrap().is_none());
    assert!(!native.destroy_token(&token, &user).await.unwrap());
    assert_eq!(strategy.destroy_all_tokens(&user).await.unwrap(), 1);
    assert!(value_of(&store, &key).await.is_none());
    backend.cleanup().await;
}
