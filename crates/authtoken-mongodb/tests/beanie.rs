//! Tokens shared with fastapi-users' Beanie adapter (fastapi-users 15, fastapi-users-db-beanie 5,
//! run from `tests/interop/fastapi_users_beanie_side.py`): on the Beanie layout in plain mode,
//! a token written by either side authenticates on both, a logout on either side revokes it on
//! both, and both sides draw the lifetime's line at the same instant.

mod common;

use std::time::Duration;

use authtoken::{DatabaseStrategy, ManualClock, StorageMode};
use authtoken_mongodb::mongodb::bson::oid::ObjectId;
use authtoken_mongodb::mongodb::bson::{Bson, doc};
use authtoken_mongodb::{Layout, MongoStore};
use authtoken_tests::interop;
use chrono::{DateTime, TimeDelta, Utc};

const SCRIPT: &str = "fastapi_users_beanie_side.py";
const HOUR: Duration = Duration::from_secs(3600);

struct Sides {
    python: String,
    url: String,
    database: String,
    user: ObjectId,
    store: MongoStore<ObjectId>,
}

impl Sides {
    async fn new() -> Option<Self> {
        let url = common::server_url()?;
        let python = interop::python()?;
        let database = common::database_name();
        let store = MongoStore::connect(&common::with_database(&url, &database))
            .await
            .unwrap()
            .with_layout(Layout::beanie());
        store.ensure_indexes().await.unwrap();
        Some(Self { python, url, database, user: ObjectId::new(), store })
    }

    fn fastapi_users(&self, command: &str, args: &[&str], token: &str) -> String {
        let mut all = vec![command, self.url.as_str(), self.database.as_str()];
        all.extend_from_slice(args);
        interop::run(&self.python, SCRIPT, &all, &format!("{token}\n"))
    }

    fn fastapi_users_login(&self) -> String {
        self.fastapi_users("login", &[&self.user.to_hex(), "3600"], "")
    }

    fn fastapi_users_accepts(&self, token: &str) -> bool {
        match self.fastapi_users("read", &[&self.user.to_hex(), "3600"], token) {
            id if id == self.user.to_hex() => true,
            none if none == "none" => false,
            other => panic!("fastapi-users read the token as user {other}"),
        }
    }

    /// authtoken's strategy on fastapi-users' collection, in plain mode, on `clock`.
    fn strategy(&self, clock: &ManualClock) -> DatabaseStrategy<MongoStore<ObjectId>> {
        DatabaseStrategy::new(self.store.clone(), Some(HOUR))
            .unwrap()
            .with_storage_mode(StorageMode::Plain)
            .with_clock(clock.clone())
    }

    async fn authtoken_accepts(&self, clock: &ManualClock, token: &str) -> bool {
        let row = self.strategy(clock).read_token_row(token).await.unwrap();
        row.inspect(|row| assert_eq!(row.user_id, self.user)).is_some()
    }

    async fn authtoken_issue(&self, clock: &ManualClock) -> String {
        let user = authtoken_conformance::memory::MemoryUser { id: self.user, is_active: true };
        self.strategy(clock).write_token(&user).await.unwrap().into_secret()
    }
}

fn now_clock() -> ManualClock {
    ManualClock::new(Utc::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beanie_tokens_cross_both_ways_expire_and_revoke_alike() {
    let Some(sides) = Sides::new().await else { return };

    // fastapi-users logs in; authtoken accepts the token. And the other way round.
    let theirs = sides.fastapi_users_login();
    assert!(sides.authtoken_accepts(&now_clock(), &theirs).await, "authtoken refused theirs");
    let ours = sides.authtoken_issue(&now_clock()).await;
    assert!(sides.fastapi_users_accepts(&ours), "fastapi-users refused an authtoken token");

    // The same document shape: Beanie's ObjectId `_id`, the token, an ObjectId user, a date.
    let document =
        sides.store.collection().find_one(doc! { "token": &ours }).await.unwrap().unwrap();
    assert!(matches!(document.get("_id"), Some(Bson::ObjectId(_))), "{document}");
    assert_eq!(document.get("user_id"), Some(&Bson::ObjectId(sides.user)));
    assert!(matches!(document.get("created_at"), Some(Bson::DateTime(_))), "{document}");

    // A logout on either side revokes on both.
    let user = authtoken_conformance::memory::MemoryUser { id: sides.user, is_active: true };
    assert!(sides.strategy(&now_clock()).destroy_token(&theirs, &user).await.unwrap());
    assert!(!sides.fastapi_users_accepts(&theirs), "fastapi-users still accepts a revoked token");
    sides.fastapi_users("logout", &[&sides.user.to_hex()], &ours);
    assert!(!sides.authtoken_accepts(&now_clock(), &ours).await, "authtoken accepts a revoked one");

    // The lifetime's line: one made 59 minutes ago lives on both sides, one made 61 minutes
    // ago on neither.
    for (age, alive) in [(TimeDelta::minutes(59), true), (TimeDelta::minutes(61), false)] {
        let token = sides.authtoken_issue(&ManualClock::new(Utc::now() - age)).await;
        assert_eq!(sides.fastapi_users_accepts(&token), alive, "fastapi-users, age {age}");
        assert_eq!(
            sides.authtoken_accepts(&now_clock(), &token).await,
            alive,
            "authtoken, age {age}"
        );
    }
    // And at the millisecond fastapi-users recorded: alive at created + 1 h, dead a millisecond on.
    let theirs = sides.fastapi_users_login();
    let created: DateTime<Utc> = sides.fastapi_users("created", &[], &theirs).parse().unwrap();
    let at_end = ManualClock::new(created + TimeDelta::hours(1));
    assert!(sides.authtoken_accepts(&at_end, &theirs).await, "refused at its last instant");
    let past = ManualClock::new(created + TimeDelta::hours(1) + TimeDelta::milliseconds(1));
    assert!(!sides.authtoken_accepts(&past, &theirs).await, "accepted past its lifetime");

    sides.store.collection().client().database(&sides.database).drop().await.unwrap();
}
