//! A table shared with fastapi-users: its own models and `DatabaseStrategy` (fastapi-users 15,
//! fastapi-users-db-sqlalchemy 7, run from `tests/interop/fastapi_users_side.py`) on one side, the
//! `authtoken` CLI in plain mode on table `accesstoken` on the other. Tokens cross both ways, on
//! SQLite and PostgreSQL; both sides agree on which are live, just inside the lifetime and past it.
//!
//! `AUTHTOKEN_INTEROP_PYTHON` names a Python with `tests/interop/requirements.txt` installed;
//! `.ci/run` makes one.

use std::process::{Command, Output};

use authtoken::store::{AccessToken, AccessTokenStore};
use authtoken_sea_orm::{SeaOrmStore, access_token};
use authtoken_tests::sql::{Engine, TestDb};
use chrono::{TimeDelta, Utc};

const LIFETIME_SECONDS: i64 = 3600;

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The two programs sharing one database.
struct Sides {
    db: TestDb,
    python: String,
    sqlalchemy_url: String,
}

impl Sides {
    async fn new(engine: Engine) -> Option<Self> {
        let python = authtoken_tests::interop::python()?;
        let db = TestDb::create(engine, None).await?;
        let sqlalchemy_url = match engine {
            Engine::Sqlite => {
                let path = db.url.trim_start_matches("sqlite://").trim_end_matches("?mode=rwc");
                format!("sqlite+aiosqlite:///{path}")
            }
            Engine::Postgres => db.url.replacen("postgres://", "postgresql+asyncpg://", 1),
            Engine::MySql => {
                unreachable!("fastapi-users interop is tested on SQLite and PostgreSQL")
            }
        };
        Some(Self { db, python, sqlalchemy_url })
    }

    /// Runs the fastapi-users side; its output's one line.
    fn fastapi_users(&self, command: &str, args: &[&str]) -> String {
        let output = Command::new(&self.python)
            .arg(authtoken_tests::interop::script("fastapi_users_side.py"))
            .arg(command)
            .arg(&self.sqlalchemy_url)
            .args(args)
            .output()
            .expect("running the fastapi-users side");
        assert!(
            output.status.success(),
            "fastapi-users {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        text(&output)
    }

    /// fastapi-users keeps UUIDs as text outside PostgreSQL.
    fn user_id_type(&self) -> &'static str {
        if self.db.engine == Engine::Postgres { "uuid" } else { "string" }
    }

    /// Runs the authtoken CLI configured for fastapi-users' table.
    fn authtoken(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args(["--database-url", &self.db.url, "--table", "accesstoken", "--storage", "plain"])
            .args(["--user-id-type", self.user_id_type(), "--lifetime", "1h"])
            .args(args)
            .output()
            .expect("running authtoken")
    }

    /// Moves a token's creation time back, from the Rust side (the library, as an app would).
    async fn rust_backdate(&self, token: &str, seconds: i64) {
        let created_at = Utc::now() - TimeDelta::seconds(seconds);
        let conn = self.db.conn.clone();
        // The library has no update: the row is deleted and written again, backdated.
        if self.db.engine == Engine::Postgres {
            let store = SeaOrmStore::<access_token::Entity>::new(conn).with_table("accesstoken");
            let row = store.get(token).await.unwrap().expect("the row");
            assert!(store.delete(token, &row.user_id).await.unwrap());
            store.create(AccessToken { created_at, ..row }, None).await.unwrap();
        } else {
            let store =
                SeaOrmStore::<access_token::Entity<String>>::new(conn).with_table("accesstoken");
            let row = store.get(token).await.unwrap().expect("the row");
            assert!(store.delete(token, &row.user_id).await.unwrap());
            store.create(AccessToken { created_at, ..row }, None).await.unwrap();
        }
    }

    fn rust_accepts(&self, token: &str, user: &str) -> bool {
        let output = self.authtoken(&["verify", token]);
        match output.status.code() {
            Some(0) => {
                assert!(text(&output).contains(&format!("user {user}")), "{}", text(&output));
                true
            }
            Some(1) => false,
            _ => panic!("authtoken verify failed: {}", String::from_utf8_lossy(&output.stderr)),
        }
    }

    fn fastapi_users_accepts(&self, token: &str, user: &str) -> bool {
        match self.fastapi_users("read", &[token, &LIFETIME_SECONDS.to_string()]) {
            id if id == user => true,
            none if none == "none" => false,
            other => panic!("fastapi-users read the token as user {other}"),
        }
    }
}

async fn both_directions(engine: Engine) {
    let Some(sides) = Sides::new(engine).await else { return };
    sides.fastapi_users("setup", &[]);
    let user = sides.fastapi_users("create-user", &["ada@example.com"]);

    // fastapi-users logs in; authtoken accepts the token. And the other way round.
    let theirs = sides.fastapi_users("login", &[&user]);
    assert!(sides.rust_accepts(&theirs, &user), "authtoken refused a fresh fastapi-users token");
    let issued = sides.authtoken(&["issue", "--user", &user]);
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
    let ours = text(&issued);
    assert!(
        sides.fastapi_users_accepts(&ours, &user),
        "fastapi-users refused a fresh authtoken token"
    );
    assert!(sides.fastapi_users_accepts(&theirs, &user) && sides.rust_accepts(&ours, &user));

    // A minute inside the lifetime, each side's own timestamp format: both still live everywhere.
    sides.fastapi_users("backdate", &[&theirs, &(LIFETIME_SECONDS - 60).to_string()]);
    sides.rust_backdate(&ours, LIFETIME_SECONDS - 60).await;
    for token in [&theirs, &ours] {
        assert!(sides.rust_accepts(token, &user), "authtoken expired a token early");
        assert!(sides.fastapi_users_accepts(token, &user), "fastapi-users expired a token early");
    }

    // A minute past the lifetime: refused everywhere.
    sides.fastapi_users("backdate", &[&theirs, &(LIFETIME_SECONDS + 60).to_string()]);
    sides.rust_backdate(&ours, LIFETIME_SECONDS + 60).await;
    for token in [&theirs, &ours] {
        let verify = sides.authtoken(&["verify", token]);
        assert_eq!(verify.status.code(), Some(1));
        assert!(text(&verify).starts_with("invalid: expired at"), "{}", text(&verify));
        assert!(
            !sides.fastapi_users_accepts(token, &user),
            "fastapi-users accepted an expired token"
        );
    }

    // authtoken's purge clears both sides' expired rows.
    let purged = sides.authtoken(&["purge"]);
    assert!(text(&purged).starts_with("purged 2 expired token(s)"), "{}", text(&purged));
    sides.db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tokens_cross_both_ways_and_expire_alike() {
    both_directions(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tokens_cross_both_ways_and_expire_alike() {
    both_directions(Engine::Postgres).await;
}
