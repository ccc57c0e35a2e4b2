//! Keys shared with fastapi-users' `RedisStrategy` (fastapi-users 15 over redis-py, run from
//! `tests/interop/fastapi_users_redis_side.py`) on one side, the `authtoken` CLI with
//! `--storage plain` and fastapi-users' prefix on the other. Tokens cross both ways, carry the
//! same value and TTL, expire alike, and a logout on either side revokes them on both.
//!
//! Each run puts the keys under a prefix of its own (`fastapi_users_token:{run}:`), as a
//! service would set `key_prefix`; tokens travel on standard input, never in argv.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use authtoken_tests::interop;

const SCRIPT: &str = "fastapi_users_redis_side.py";

struct Sides {
    python: String,
    url: String,
    prefix: String,
    user: String,
}

impl Sides {
    async fn new() -> Option<Self> {
        let url = std::env::var("AUTHTOKEN_TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
        authtoken_tests::redis::setup_url(&url).await?;
        let python = interop::python()?;
        let prefix = format!("fastapi_users_token:{}:", uuid::Uuid::new_v4().simple());
        Some(Self { python, url, prefix, user: uuid::Uuid::new_v4().to_string() })
    }

    fn fastapi_users(&self, command: &str, args: &[&str], token: &str) -> String {
        let mut all = vec![command, self.url.as_str(), self.prefix.as_str()];
        all.extend_from_slice(args);
        interop::run(&self.python, SCRIPT, &all, &format!("{token}\n"))
    }

    /// fastapi-users logs the user in for `lifetime_s`; its token.
    fn fastapi_users_login(&self, lifetime_s: u32) -> String {
        self.fastapi_users("login", &[&self.user, &lifetime_s.to_string()], "")
    }

    fn fastapi_users_accepts(&self, token: &str) -> bool {
        match self.fastapi_users("read", &[&self.user], token) {
            id if id == self.user => true,
            none if none == "none" => false,
            other => panic!("fastapi-users read the token as user {other}"),
        }
    }

    /// The key's value and TTL in seconds, as redis-py sees them; `None` once it is gone.
    fn key(&self, token: &str) -> Option<(String, i64)> {
        let found = self.fastapi_users("inspect", &[], token);
        if found == "none" {
            return None;
        }
        let (value, ttl) = found.rsplit_once(' ').expect("VALUE TTL");
        Some((value.to_owned(), ttl.parse().expect("a TTL")))
    }

    /// Runs the authtoken CLI in plain mode on fastapi-users' prefix, `stdin` on its input.
    fn authtoken(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args(["--database-url", &self.url, "--key-prefix", &self.prefix])
            .args(["--storage", "plain", "--user-id-type", "uuid"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running authtoken");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("writing stdin");
        child.wait_with_output().expect("authtoken")
    }

    fn authtoken_issue(&self, lifetime: &str) -> String {
        let issued = self.authtoken(&["--lifetime", lifetime, "issue", "--user", &self.user], "");
        assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
        String::from_utf8_lossy(&issued.stdout).trim().to_owned()
    }

    fn authtoken_accepts(&self, token: &str) -> bool {
        let output = self.authtoken(&["--lifetime", "1h", "verify", "-"], token);
        let said = String::from_utf8_lossy(&output.stdout);
        match output.status.code() {
            Some(0) => {
                assert!(said.contains(&format!("user {}", self.user)), "{said}");
                true
            }
            Some(1) => false,
            _ => panic!("authtoken verify failed: {}", String::from_utf8_lossy(&output.stderr)),
        }
    }

    /// Waits until Redis has dropped the token's key (its TTL ran out); a bound, not a timing.
    fn wait_until_gone(&self, token: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.key(token).is_some() {
            assert!(Instant::now() < deadline, "a 1 s key outlived 30 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tokens_cross_both_ways_expire_and_revoke_alike() {
    let Some(sides) = Sides::new().await else { return };

    // fastapi-users logs in; authtoken accepts the token. And the other way round.
    let theirs = sides.fastapi_users_login(3600);
    assert!(sides.authtoken_accepts(&theirs), "authtoken refused a fastapi-users token");
    let ours = sides.authtoken_issue("1h");
    assert!(sides.fastapi_users_accepts(&ours), "fastapi-users refused an authtoken token");

    // The same key layout: the bare user id, the lifetime in the key's TTL.
    for token in [&theirs, &ours] {
        let (value, ttl) = sides.key(token).expect("the token's key");
        assert_eq!(value, sides.user);
        assert!((3500..=3600).contains(&ttl), "TTL {ttl}s for a 1 h token");
    }

    // A logout on either side revokes the token on both.
    sides.fastapi_users("logout", &[&sides.user], &ours);
    assert!(!sides.authtoken_accepts(&ours), "authtoken accepted a token fastapi-users revoked");
    let revoked = sides.authtoken(&["revoke", "-"], &theirs);
    assert_eq!(String::from_utf8_lossy(&revoked.stdout).trim(), "revoked");
    assert!(!sides.fastapi_users_accepts(&theirs), "fastapi-users accepted a revoked token");
    assert!(sides.key(&theirs).is_none() && sides.key(&ours).is_none());

    // Short lifetimes on both sides: once Redis drops the keys, both sides refuse both tokens.
    let theirs = sides.fastapi_users_login(1);
    let ours = sides.authtoken_issue("1s");
    for token in [&theirs, &ours] {
        if let Some((_, ttl)) = sides.key(token) {
            assert!(ttl <= 1, "TTL {ttl}s for a 1 s token");
        }
        sides.wait_until_gone(token);
    }
    for token in [&theirs, &ours] {
        assert!(!sides.authtoken_accepts(token), "authtoken accepted an expired token");
        assert!(!sides.fastapi_users_accepts(token), "fastapi-users accepted an expired token");
    }

    // authtoken's own "log out everywhere" reaches the tokens it issued; its index key is gone
    // with them.
    let ours = sides.authtoken_issue("1h");
    let all = sides.authtoken(&["revoke-user", &sides.user], "");
    let said = String::from_utf8_lossy(&all.stdout).trim().to_owned();
    assert_eq!(said, format!("revoked 1 token(s) of user {}", sides.user));
    assert!(!sides.fastapi_users_accepts(&ours));
}

/// A token fastapi-users wrote for another user id is that user's: authtoken names that user,
/// never the one asking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_key_names_its_own_user() {
    let Some(sides) = Sides::new().await else { return };
    let theirs = sides.fastapi_users_login(3600);
    let owner = sides.user.clone();
    let other = Sides { user: uuid::Uuid::new_v4().to_string(), ..sides };
    let output = other.authtoken(&["--lifetime", "1h", "verify", "-"], &theirs);
    assert_eq!(output.status.code(), Some(0));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.starts_with(&format!("valid: user {owner}")), "{said}");
    assert!(!other.fastapi_users_accepts(&theirs), "the one-user store knows only its user");
    other.authtoken(&["revoke", "-"], &theirs);
}
