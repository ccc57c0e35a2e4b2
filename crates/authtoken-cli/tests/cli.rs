//! The real `authtoken` binary against SQLite and PostgreSQL: every subcommand, and bad input
//! answered with one `error:` line and a non-zero exit.

use std::process::{Command, Output};

use authtoken::store::{AccessToken, AccessTokenStore, ListTokens};
use authtoken_sea_orm::SeaOrmStore;
use authtoken_tests::sql::{Engine, TestDb};
use chrono::{TimeDelta, Utc};
use sea_orm::{ConnectionTrait, Statement, Value};
use sea_orm_migration::MigratorTrait;

/// A fresh database with the demo schema (`user` with UUID ids, `access_token`) and one user.
struct Fixture {
    db: TestDb,
    user: uuid::Uuid,
    /// `--orm`, when the commands run through another store than the default.
    orm: Option<&'static str>,
}

impl Fixture {
    async fn new(engine: Engine) -> Option<Self> {
        Self::with_orm(engine, None).await
    }

    async fn with_orm(engine: Engine, orm: Option<&'static str>) -> Option<Self> {
        let db = TestDb::create(engine, None).await?;
        authtoken_migration::demo::Migrator::up(&db.conn, None).await.expect("the demo schema");
        let fixture = Self { db, user: uuid::Uuid::new_v4(), orm };
        fixture.add_user(fixture.user).await;
        Some(fixture)
    }

    async fn add_user(&self, id: uuid::Uuid) {
        let backend = self.db.conn.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                r#"INSERT INTO "user" (id, email, is_active) VALUES ($1, $2, true)"#
            }
            _ => "INSERT INTO user (id, email, is_active) VALUES (?, ?, true)",
        };
        let values: [Value; 2] = [id.into(), format!("{id}@example.com").into()];
        self.db
            .conn
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .unwrap();
    }

    fn store(&self) -> SeaOrmStore {
        SeaOrmStore::new(self.db.conn.clone())
    }

    /// Runs `authtoken` on this database with `args`; the environment cannot leak in.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running authtoken")
    }

    /// The command [`run`](Self::run) runs.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_authtoken"));
        for variable in [
            "DATABASE_URL",
            "AUTHTOKEN_TABLE",
            "AUTHTOKEN_USER_ID_TYPE",
            "AUTHTOKEN_STORAGE",
            "AUTHTOKEN_LIFETIME",
            "AUTHTOKEN_DATABASE_URL_FILE",
            "AUTHTOKEN_ALLOW_PLAINTEXT",
            "AUTHTOKEN_ORM",
        ] {
            command.env_remove(variable);
        }
        command.arg("--database-url").arg(&self.db.url);
        if let Some(orm) = self.orm {
            command.args(["--orm", orm]);
        }
        command.args(args);
        command
    }

    /// Adds `count` rows for the user, created `age` ago.
    async fn add_rows(&self, count: usize, age: TimeDelta) {
        for _ in 0..count {
            let token = authtoken_tests::spec::foreign_token();
            let row = AccessToken::new(token, self.user, Utc::now() - age);
            self.store().create(row, None).await.unwrap();
        }
    }

    async fn rows(&self) -> usize {
        self.store().list_of_user(&self.user).await.unwrap().len()
    }
}

/// `chmod 600`, as a secret file should be (the CLI warns otherwise).
fn owner_only(file: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = file;
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A failure reported as it should be: exit 2, one `error:` line, no panic, nothing on stdout.
fn assert_clean_error(output: &Output, mentions: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {err}");
    assert!(stdout(output).is_empty(), "stdout: {}", stdout(output));
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{err}");
    assert!(first.contains(mentions), "expected {mentions:?} in {first:?}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
}

async fn issue_verify_revoke_round_trip(f: &Fixture) {
    let user = f.user.to_string();
    let issued = f.run(&["--lifetime", "1h", "issue", "--user", &user]);
    assert!(issued.status.success(), "{}", stderr(&issued));
    let token = stdout(&issued).trim().to_owned();
    assert_eq!(token.len(), 43);
    assert!(stderr(&issued).contains("shown only this once"));
    assert!(!stderr(&issued).contains(&token), "the token is printed once, on stdout only");

    let verified = f.run(&["--lifetime", "1h", "verify", &token]);
    assert_eq!(verified.status.code(), Some(0));
    assert!(
        stdout(&verified).starts_with(&format!("valid: user {user}, created ")),
        "{}",
        stdout(&verified)
    );

    let revoked = f.run(&["revoke", &token]);
    assert_eq!((revoked.status.code(), stdout(&revoked).trim()), (Some(0), "revoked"));
    let again = f.run(&["revoke", &token]);
    assert_eq!(again.status.code(), Some(1));
    let verified = f.run(&["--lifetime", "1h", "verify", &token]);
    assert_eq!(verified.status.code(), Some(1));
    assert!(stdout(&verified).starts_with("invalid: unknown token"));
}

async fn prefixed_tokens_are_issued_and_checked(f: &Fixture) {
    let user = f.user.to_string();
    let issued = f.run(&["--token-prefix", "atk_", "--lifetime", "1h", "issue", "--user", &user]);
    assert!(issued.status.success(), "{}", stderr(&issued));
    let token = stdout(&issued).trim().to_owned();
    assert!(token.starts_with("atk_") && token.len() == 4 + 43 + 6, "{token}");
    let verified = f.run(&["--token-prefix", "atk_", "--lifetime", "1h", "verify", &token]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
    // A typo in the checksum: not a token, told without a lookup.
    let mut typo = token.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == '0' { '1' } else { '0' });
    let refused = f.run(&["--token-prefix", "atk_", "--lifetime", "1h", "verify", &typo]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stdout(&refused).starts_with("invalid: not a token"), "{}", stdout(&refused));
    let bad_prefix =
        f.run(&["--token-prefix", "no spaces", "--lifetime", "1h", "issue", "--user", &user]);
    assert_clean_error(&bad_prefix, "token prefix");
    let revoked = f.run(&["--token-prefix", "atk_", "revoke", &token]);
    assert_eq!((revoked.status.code(), stdout(&revoked).trim()), (Some(0), "revoked"));
}

async fn api_tokens_are_issued_listed_and_verified(f: &Fixture) {
    let user = f.user.to_string();
    let issued = f.run(&[
        "issue",
        "--user",
        &user,
        "--name",
        "CI deploy",
        "--scopes",
        "read,deploy",
        "--expires-in",
        "90d",
    ]);
    assert!(issued.status.success(), "{}", stderr(&issued));
    let token = stdout(&issued).trim().to_owned();
    // Its own expiry: no --lifetime needed to judge it.
    let verified = f.run(&["verify", &token]);
    assert_eq!(verified.status.code(), Some(0), "{}{}", stdout(&verified), stderr(&verified));
    let in_90_days = (chrono::Utc::now() + TimeDelta::days(90)).format("%Y-%m-%d").to_string();
    assert!(stdout(&verified).contains(&format!("expires {in_90_days}")), "{}", stdout(&verified));
    // A plain session has no expiry of its own: without --lifetime, a clear refusal.
    let session = stdout(&f.run(&["--lifetime", "1h", "issue", "--user", &user])).trim().to_owned();
    assert_clean_error(&f.run(&["verify", &session]), "--lifetime");
    // A login recorded with its client, as the login routes write it.
    let mut browser = AccessToken::new(authtoken_tests::spec::foreign_token(), f.user, Utc::now());
    browser.details.user_agent = Some("curl/8.5".to_owned());
    browser.details.address = Some("198.51.100.7".to_owned());
    f.store().with_details().with_client_columns().create(browser, None).await.unwrap();
    let listed = f.run(&["--lifetime", "1h", "list", "--user", &user]);
    let text = stdout(&listed);
    assert!(text.lines().next().unwrap().contains("NAME") && text.contains("SCOPES"), "{text}");
    assert!(text.contains("CI deploy") && text.contains("read,deploy"), "{text}");
    assert!(!text.contains(&token), "list never shows a token");
    // Each row's session id, as the user's sessions page shows it; the client where recorded.
    for row in f.store().list_of_user(&f.user).await.unwrap() {
        let id = authtoken::SessionId::of_key(&row.token);
        assert!(text.contains(id.as_str()), "session {id} is not listed: {text}");
    }
    assert!(text.contains("from 198.51.100.7 · curl/8.5"), "{text}");
    assert_clean_error(
        &f.run(&["--lifetime", "1h", "issue", "--user", &user, "--scopes", "a b"]),
        "scope",
    );
    assert_clean_error(
        &f.run(&["--lifetime", "1h", "issue", "--user", &user, "--expires-in", "none"]),
        "duration",
    );
}

async fn verify_tells_expired_unknown_and_malformed(f: &Fixture) {
    f.add_rows(1, TimeDelta::hours(2)).await;
    let row = f.store().list_of_user(&f.user).await.unwrap().remove(0);
    // Plain mode, so the row's key is the token a client would present.
    let expired = f.run(&["--storage", "plain", "--lifetime", "1h", "verify", &row.token]);
    assert_eq!(expired.status.code(), Some(1));
    assert!(stdout(&expired).starts_with("invalid: expired at "), "{}", stdout(&expired));
    let forever = f.run(&["--storage", "plain", "--lifetime", "none", "verify", &row.token]);
    assert_eq!(forever.status.code(), Some(0), "{}", stdout(&forever));
    assert!(stdout(&forever).contains("expires never"));
    let hashed = f.run(&["--lifetime", "1h", "verify", &row.token]);
    assert_eq!(hashed.status.code(), Some(1), "in hashed mode the stored key is not a token");
    let malformed = f.run(&["--lifetime", "1h", "verify", "not-a-token"]);
    assert_eq!(malformed.status.code(), Some(1));
    assert!(stdout(&malformed).starts_with("invalid: not a token"));
}

async fn revoke_user_and_list(f: &Fixture) {
    let user = f.user.to_string();
    let tokens: Vec<String> = (0..3)
        .map(|_| stdout(&f.run(&["--lifetime", "1h", "issue", "--user", &user])).trim().to_owned())
        .collect();
    let listed = f.run(&["--lifetime", "1h", "list", "--user", &user]);
    assert!(listed.status.success());
    let text = stdout(&listed);
    assert!(text.contains("3 token(s) of user"), "{text}");
    assert_eq!(text.matches(" live").count(), 3, "{text}");
    for token in &tokens {
        assert!(!text.contains(token.as_str()), "list must never show a token");
    }
    let other = uuid::Uuid::new_v4();
    f.add_user(other).await;
    f.run(&["--lifetime", "1h", "issue", "--user", &other.to_string()]);
    let revoked = f.run(&["revoke-user", &user]);
    assert_eq!(stdout(&revoked).trim(), format!("revoked 3 token(s) of user {user}"));
    assert_eq!(f.rows().await, 0);
    let others = f.store().list_of_user(&other).await.unwrap();
    assert_eq!(others.len(), 1, "other users keep their tokens");
}

async fn purge_deletes_expired_rows_in_batches(f: &Fixture) {
    f.add_rows(25, TimeDelta::hours(2)).await;
    f.add_rows(5, TimeDelta::minutes(5)).await;
    let dry = f.run(&["--lifetime", "1h", "purge", "--dry-run"]);
    assert!(stdout(&dry).starts_with("25 expired token(s) created before "), "{}", stdout(&dry));
    assert_eq!(f.rows().await, 30, "a dry run deletes nothing");

    let purged = f.run(&["--lifetime", "1h", "purge", "--batch-size", "10"]);
    assert!(purged.status.success(), "{}", stderr(&purged));
    assert!(
        stdout(&purged).starts_with("purged 25 expired token(s) created before "),
        "{}",
        stdout(&purged)
    );
    assert!(stdout(&purged).contains("batches of 10"));
    // Not a terminal: a plain line per batch instead of a progress bar.
    assert_eq!(
        stderr(&purged).lines().collect::<Vec<_>>(),
        ["purged 10/25", "purged 20/25", "purged 25/25"]
    );
    assert_eq!(f.rows().await, 5);
    assert_clean_error(&f.run(&["purge"]), "purge needs --lifetime");
}

async fn options_come_from_the_environment(f: &Fixture) {
    f.add_rows(2, TimeDelta::hours(2)).await;
    let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .env("DATABASE_URL", &f.db.url)
        .env("AUTHTOKEN_TABLE", "access_token")
        .env("AUTHTOKEN_USER_ID_TYPE", "uuid")
        .env("AUTHTOKEN_STORAGE", "hashed")
        .env("AUTHTOKEN_LIFETIME", "90min")
        .args(["purge", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        stdout(&output).starts_with("2 expired token(s)"),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
}

async fn bad_input_gets_one_clear_line(f: &Fixture) {
    let token = authtoken_tests::spec::foreign_token();
    assert_clean_error(
        &f.run(&["--lifetime", "1h", "issue", "--user", "not-a-uuid"]),
        "malformed user id `not-a-uuid`",
    );
    assert_clean_error(
        &f.run(&["--lifetime", "1h", "issue", "--user", &uuid::Uuid::new_v4().to_string()]),
        "no user with id",
    );
    assert_clean_error(
        &f.run(&["--table", "no_such_table", "--lifetime", "1h", "verify", &token]),
        "cannot read table `no_such_table`",
    );
    f.add_rows(1, TimeDelta::zero()).await;
    assert_clean_error(
        &f.run(&["--user-id-type", "i64", "--lifetime", "1h", "verify", &token]),
        "does not read as user_id i64",
    );
    assert_clean_error(&f.run(&["--lifetime", "soon", "verify", &token]), "invalid value 'soon'");
    assert_clean_error(&f.run(&["--lifetime", "0s", "verify", &token]), "zero lifetime");
    assert_clean_error(&f.run(&["--storage", "rot13", "verify", &token]), "invalid value 'rot13'");
    assert_clean_error(
        &f.run(&["--lifetime", "1h", "list", "--user", "42"]),
        "malformed user id `42`",
    );
    assert_clean_error(&f.run(&["--lifetime", "300000years", "verify", &token]), "over 1000 years");
    for command in [vec!["list", "--user", "x"], vec!["purge"], vec!["issue", "--user", "x"]] {
        let name = command[0];
        assert_clean_error(&f.run(&command), &format!("{name} needs --lifetime"));
    }
    // verify needs a lifetime only to judge a row without its own expiry: an unknown token is
    // simply unknown.
    let unknown = f.run(&["verify", &token]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stdout(&unknown).starts_with("invalid: unknown token"), "{}", stdout(&unknown));
}

/// Arbitrary strings given to `verify`: each a clean "invalid" (exit 1), never an error or a panic.
async fn verify_refuses_arbitrary_strings_cleanly(f: &Fixture) {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::default();
    // Command-line arguments cannot hold NUL; everything else goes.
    let strings = proptest::string::string_regex("[^\\x00]{0,80}|[A-Za-z0-9_-]{43}").unwrap();
    for case in 0..60 {
        let candidate = strings.new_tree(&mut runner).unwrap().current();
        // Hyphen-led strings too (one token in 64 starts with `-`), and with no `--` before them.
        let candidate = if case % 4 == 0 { format!("-{candidate}") } else { candidate };
        if candidate == "-" {
            continue; // `-` means "read the token from standard input"
        }
        let output = f.run(&["--lifetime", "1h", "verify", &candidate]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "case {case}: {candidate:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).starts_with("invalid: "), "{candidate:?}: {}", stdout(&output));
        // Nothing on stderr but the note on keyed tables that an unknown token may get.
        let noted = stderr(&output).lines().all(|l| l.starts_with("note: no --hash-key-file"));
        assert!(noted, "{candidate:?}: {}", stderr(&output));
    }
    assert_eq!(f.rows().await, 0, "verify wrote nothing");
}

/// The machine's time zone (TZ) changes neither what the CLI decides nor the times it prints.
async fn the_local_time_zone_changes_nothing(f: &Fixture) {
    f.add_rows(1, TimeDelta::minutes(59)).await;
    f.add_rows(1, TimeDelta::minutes(61)).await;
    let rows = f.store().list_of_user(&f.user).await.unwrap(); // oldest (expired) first
    for zone in ["UTC", "Pacific/Chatham", "America/St_Johns"] {
        for (row, expected) in rows.iter().zip([Some(1), Some(0)]) {
            let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
                .env("TZ", zone)
                .args([
                    "--database-url",
                    &f.db.url,
                    "--storage",
                    "plain",
                    "--lifetime",
                    "1h",
                    "verify",
                    &row.token,
                ])
                .output()
                .unwrap();
            assert_eq!(output.status.code(), expected, "TZ={zone}: {}", stdout(&output));
            assert!(stdout(&output).contains("Z"), "times are printed in UTC: {}", stdout(&output));
        }
    }
}

/// Tokens that start with `-` (one in 64 does) are tokens, not options, for `verify` and `revoke`.
async fn hyphen_led_tokens_are_verified_and_revoked(f: &Fixture) {
    let token = format!("-{}", &authtoken_tests::spec::foreign_token()[1..]);
    let row = AccessToken::new(token.clone(), f.user, Utc::now());
    f.store().create(row, None).await.unwrap();
    let plain = |args: &[&str]| {
        let mut all = vec!["--storage", "plain", "--lifetime", "1h"];
        all.extend_from_slice(args);
        f.run(&all)
    };
    let verified = plain(&["verify", &token]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
    assert!(stdout(&verified).starts_with("valid: user "), "{}", stdout(&verified));
    let revoked = plain(&["revoke", &token]);
    assert_eq!((revoked.status.code(), stdout(&revoked).trim()), (Some(0), "revoked"));
    assert_eq!(plain(&["verify", &token]).status.code(), Some(1));
}

/// `-` reads the token from standard input: it never appears in the process list.
async fn a_token_can_come_from_standard_input(f: &Fixture) {
    let issued = f.run(&["--lifetime", "1h", "issue", "--user", &f.user.to_string()]);
    let token = stdout(&issued).trim().to_owned();
    let with_stdin = |args: &[&str]| {
        let mut child = f
            .command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
        child.wait_with_output().unwrap()
    };
    let verified = with_stdin(&["--lifetime", "1h", "verify", "-"]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
    let revoked = with_stdin(&["revoke", "-"]);
    assert_eq!((revoked.status.code(), stdout(&revoked).trim()), (Some(0), "revoked"));
    assert_eq!(f.rows().await, 0);
}

/// A leak report carries only the fingerprint `list` shows: that revokes the one token it names,
/// and a fingerprint shared by two tokens revokes nothing.
async fn revoke_by_fingerprint(f: &Fixture) {
    let user = f.user.to_string();
    let tokens: Vec<String> = (0..3)
        .map(|_| stdout(&f.run(&["--lifetime", "1h", "issue", "--user", &user])).trim().to_owned())
        .collect();
    let listed = stdout(&f.run(&["--lifetime", "1h", "list", "--user", &user]));
    let fingerprints: Vec<&str> = listed
        .lines()
        .skip(1)
        .filter_map(|l| l.split('…').next())
        .filter(|p| p.len() == 8)
        .collect();
    assert_eq!(fingerprints.len(), 3, "{listed}");
    let revoked = f.run(&["revoke", "--fingerprint", fingerprints[0]]);
    assert_eq!(revoked.status.code(), Some(0), "{}", stderr(&revoked));
    assert!(stdout(&revoked).starts_with(&format!("revoked the token {}", fingerprints[0])));
    let left: Vec<_> = tokens
        .iter()
        .filter(|t| f.run(&["--lifetime", "1h", "verify", t.as_str()]).status.code() == Some(0))
        .collect();
    assert_eq!(left.len(), 2, "exactly one token went");
    let again = f.run(&["revoke", "--fingerprint", fingerprints[0]]);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));

    // Two stored keys sharing their first eight characters: ambiguous, nothing revoked.
    let twin =
        |tail: &str| format!("AAAAAAAA{tail}{}", &authtoken_tests::spec::foreign_token()[9..]);
    for key in [twin("x"), twin("y")] {
        let row = AccessToken::new(key, f.user, Utc::now());
        f.store().create(row, None).await.unwrap();
    }
    assert_clean_error(
        &f.run(&["revoke", "--fingerprint", "AAAAAAAA"]),
        "matches more than one token",
    );
    assert_eq!(f.rows().await, 4);
    assert_clean_error(&f.run(&["revoke", "--fingerprint", "AAA"]), "a fingerprint is at least 6");
    // A fingerprint is base64url: one in 64 begins with `-`, which must not read as an option.
    let hyphen_led = f.run(&["revoke", "--fingerprint", "-AAAAAAA"]);
    assert!(!stderr(&hyphen_led).contains("unexpected argument"), "{}", stderr(&hyphen_led));
    assert_clean_error(
        &f.run(&["--storage", "plain", "revoke", "--fingerprint", "AAAAAAAA"]),
        "add --user ID",
    );
}

/// The URL can come from a file (a mounted secret), and `--verbose` logs the steps, never a token.
async fn the_url_comes_from_a_file_and_verbose_logs_no_token(f: &Fixture) {
    let dir = std::env::temp_dir().join(format!("authtoken-cli-url-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("database-url");
    std::fs::write(&file, format!("{}\n", f.db.url)).unwrap();
    owner_only(&file);
    let issued = f.run(&["--lifetime", "1h", "issue", "--user", &f.user.to_string()]);
    let token = stdout(&issued).trim().to_owned();
    let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .env_remove("DATABASE_URL")
        .env("AUTHTOKEN_DATABASE_URL_FILE", &file)
        .args(["--verbose", "--lifetime", "1h", "verify", &token])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("connecting"), "{}", stderr(&output));
    assert!(!stderr(&output).contains(&token), "a token in the log: {}", stderr(&output));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--hash-key-file`: tokens issued under the keys verify with them and not without; a rotated
/// file (new key first) still verifies the old token.
async fn hash_keys_come_from_a_file(f: &Fixture) {
    let dir = std::env::temp_dir().join(format!("authtoken-cli-keys-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let old = "# the current key\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";
    let rotated = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";
    let (old_file, rotated_file) = (dir.join("old"), dir.join("rotated"));
    std::fs::write(&old_file, old).unwrap();
    std::fs::write(&rotated_file, rotated).unwrap();
    owner_only(&old_file);
    owner_only(&rotated_file);
    let keys = |file: &std::path::Path| file.to_str().unwrap().to_owned();
    let issued = f.run(&[
        "--hash-key-file",
        &keys(&old_file),
        "--lifetime",
        "1h",
        "issue",
        "--user",
        &f.user.to_string(),
    ]);
    assert!(issued.status.success(), "{}", stderr(&issued));
    let token = stdout(&issued).trim().to_owned();
    let verify = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["--lifetime", "1h", "verify", token.as_str()]);
        f.run(&args).status.code()
    };
    assert_eq!(verify(&["--hash-key-file", &keys(&old_file)]), Some(0));
    assert_eq!(verify(&["--hash-key-file", &keys(&rotated_file)]), Some(0));
    assert_eq!(verify(&[]), Some(1), "without the key the row is not found");
    // L8: the operator is told why a live token may look unknown.
    let unkeyed = f.run(&["--lifetime", "1h", "verify", &token]);
    assert!(stderr(&unkeyed).contains("no --hash-key-file was given"), "{}", stderr(&unkeyed));
    let unkeyed = f.run(&["revoke", &token]);
    assert!(stderr(&unkeyed).contains("no --hash-key-file was given"), "{}", stderr(&unkeyed));
    std::fs::write(&old_file, "c2hvcnQ=\n").unwrap();
    assert_clean_error(
        &f.run(&["--hash-key-file", &keys(&old_file), "--lifetime", "1h", "verify", &token]),
        "line 1",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A user of the fixture, for the refresh strategy.
struct Who(uuid::Uuid);

impl authtoken::User for Who {
    type Id = uuid::Uuid;
    fn id(&self) -> &uuid::Uuid {
        &self.0
    }
}

/// `list` shows the refresh family each token was issued in; `revoke-family` ends one: its
/// refresh token refused, its access tokens revoked, the user's other login untouched.
async fn refresh_families_are_listed_and_revoked(f: &Fixture) {
    use authtoken::refresh::{RefreshPolicy, RefreshRefusal, RefreshStrategy, Refreshed};
    use authtoken_migration::{CreateRefreshTokenTables, UserIdType};
    use sea_orm_migration::{MigrationTrait, SchemaManager};

    let migration = CreateRefreshTokenTables::new("user", "id", UserIdType::Uuid);
    migration.up(&SchemaManager::new(&f.db.conn)).await.expect("the refresh tables");
    let access =
        authtoken::DatabaseStrategy::new(f.store(), Some(std::time::Duration::from_secs(900)));
    let refresh = authtoken_sea_orm::SeaOrmRefreshStore::<uuid::Uuid>::new(f.db.conn.clone());
    let tokens = RefreshStrategy::new(access.unwrap(), refresh, RefreshPolicy::default()).unwrap();
    let (first, second) =
        (tokens.login(&Who(f.user)).await.unwrap(), tokens.login(&Who(f.user)).await.unwrap());

    let user = f.user.to_string();
    let listed = f.run(&["--lifetime", "15m", "list", "--user", &user]);
    let text = stdout(&listed);
    assert!(listed.status.success() && text.contains("FAMILY"), "{text}{}", stderr(&listed));
    for pair in [&first, &second] {
        assert!(text.contains(&pair.family), "{text}");
        assert!(!text.contains(pair.refresh_token.expose_secret()), "a refresh token was shown");
    }

    // Family ids are base64url: one in 32 begins with `-`, which must not read as an option.
    let hyphen_led = f.run(&["revoke-family", "-AbCdEfGhIjKlMnOpQrStU"]);
    assert_eq!(hyphen_led.status.code(), Some(1), "{}", stderr(&hyphen_led));
    let ended = f.run(&["revoke-family", &first.family]);
    assert!(ended.status.success(), "{}", stderr(&ended));
    let said = stdout(&ended);
    assert!(said.contains("1 refresh token(s), 1 access token(s) revoked"), "{said}");
    let again = tokens.refresh(first.refresh_token.expose_secret()).await.unwrap();
    assert!(matches!(again, Refreshed::Refused(RefreshRefusal::Unknown)), "{again:?}");
    let found = tokens.access().read_token_row(first.access_token.expose_secret()).await.unwrap();
    assert!(found.is_none(), "the family's access token still works");
    assert_eq!(f.run(&["revoke-family", &first.family]).status.code(), Some(1));
    let other = tokens.refresh(second.refresh_token.expose_secret()).await.unwrap();
    assert!(matches!(other, Refreshed::Rotated(_)), "the other login was ended too");
}

macro_rules! on_engine {
    ($module:ident, $engine:expr) => {
        on_engine!($module, $engine, None);
    };
    ($module:ident, $engine:expr, $orm:expr) => {
        mod $module {
            use super::*;

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(f) = Fixture::with_orm($engine, $orm).await else { return };
                        super::$name(&f).await;
                        f.db.drop_database().await;
                    }
                };
            }

            case!(issue_verify_revoke_round_trip);
            case!(prefixed_tokens_are_issued_and_checked);
            case!(api_tokens_are_issued_listed_and_verified);
            case!(verify_tells_expired_unknown_and_malformed);
            case!(revoke_user_and_list);
            case!(purge_deletes_expired_rows_in_batches);
            case!(options_come_from_the_environment);
            case!(bad_input_gets_one_clear_line);
            case!(verify_refuses_arbitrary_strings_cleanly);
            case!(the_local_time_zone_changes_nothing);
            case!(hyphen_led_tokens_are_verified_and_revoked);
            case!(a_token_can_come_from_standard_input);
            case!(revoke_by_fingerprint);
            case!(the_url_comes_from_a_file_and_verbose_logs_no_token);
            case!(hash_keys_come_from_a_file);
            case!(refresh_families_are_listed_and_revoked);
        }
    };
}

on_engine!(sqlite, Engine::Sqlite);
on_engine!(postgres, Engine::Postgres);
// The same commands through the Diesel store, on the table the SeaORM migration made.
on_engine!(diesel_sqlite, Engine::Sqlite, Some("diesel"));
on_engine!(diesel_postgres, Engine::Postgres, Some("diesel"));
on_engine!(diesel_mysql, Engine::MySql, Some("diesel"));

#[test]
fn unreachable_and_unparsable_databases_are_one_clear_line() {
    let run = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args(["--database-url", url, "verify", "x"])
            .output()
            .unwrap()
    };
    assert_clean_error(
        &run("postgres://u:hunter2@127.0.0.1:1/nowhere"),
        "cannot connect to postgres://u:***@127.0.0.1:1/nowhere",
    );
    assert!(!stderr(&run("postgres://u:hunter2@127.0.0.1:1/nowhere")).contains("hunter2"));
    assert_clean_error(&run("::not a url::"), "cannot use the given database URL (not a URL)");
    assert_clean_error(&run("ftp://127.0.0.1/x"), "unsupported database URL scheme `ftp`");
    let missing_file = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .args(["--database-url-file", "/no/such/secret", "--lifetime", "1h", "verify", "x"])
        .output()
        .unwrap();
    assert_clean_error(&missing_file, "cannot read --database-url-file /no/such/secret");
    assert_clean_error(
        &run("sqlite:///no/such/dir/x.db"),
        "no SQLite database at /no/such/dir/x.db",
    );
}

#[test]
fn every_subcommand_has_help() {
    for subcommand in ["issue", "verify", "revoke", "revoke-user", "list", "purge"] {
        let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{subcommand} --help");
        let text = stdout(&output);
        assert!(text.contains("Usage: authtoken"), "{subcommand}: {text}");
        assert!(text.contains("--database-url"), "{subcommand} lists the shared options: {text}");
    }
}

/// No password reaches a message, in any form a URL carries one; SQLAlchemy's `dialect+driver`
/// scheme is understood.
#[test]
fn passwords_in_any_url_form_never_reach_a_message() {
    let run = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args(["--database-url", url, "--lifetime", "1h", "verify", "x"])
            .output()
            .unwrap()
    };
    for url in [
        "postgresql+asyncpg://app:S3cretPW@127.0.0.1:1/db",
        "postgres://app@127.0.0.1:1/db?password=S3cretPW",
        "mysql+aiomysql://app:S3cret%50W@127.0.0.1:1/db",
        "postgresql+asyncpg://app:S3cretPW@[not a host/db",
    ] {
        let output = run(url);
        assert_eq!(output.status.code(), Some(2), "{url}");
        for shown in [stderr(&output), stdout(&output)] {
            assert!(!shown.contains("S3cret"), "{url}: {shown}");
        }
    }
    assert_clean_error(
        &run("postgresql+asyncpg://app:S3cretPW@127.0.0.1:1/db"),
        "cannot connect to postgres://app:***@127.0.0.1:1/db",
    );
}

/// Cleartext to another machine is refused before any connection, unless asked for.
#[test]
fn cleartext_to_a_remote_database_needs_an_explicit_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .args([
            "--database-url",
            "postgres://app@db.example.invalid/x",
            "--lifetime",
            "1h",
            "verify",
            "x",
        ])
        .output()
        .unwrap();
    assert_clean_error(&output, "refusing a connection without TLS to db.example.invalid");
}

/// The CLI never creates a database: a missing SQLite file is an error and stays missing.
#[test]
fn a_missing_sqlite_file_is_an_error_and_is_not_created() {
    let dir = std::env::temp_dir().join(format!("authtoken-cli-missing-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for url in [
        format!("sqlite://{}/tokens.db", dir.display()),
        format!("sqlite://{}/tokens.db?mode=rwc", dir.display()),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args(["--database-url", &url, "--lifetime", "1h", "verify", "x"])
            .output()
            .unwrap();
        assert_clean_error(&output, "no SQLite database at");
    }
    let default = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        .args(["--lifetime", "1h", "verify", "x"])
        .output()
        .unwrap();
    assert_clean_error(&default, "no SQLite database at authtoken.db");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "a file was created");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `sslmode=require` works against the local PostgreSQL (which has `ssl=on`): the binary has a
/// TLS stack (without one, sqlx refuses the mode); through the Diesel store, `verify-full`
/// checks the server's certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls() {
    let Some(f) = Fixture::new(Engine::Postgres).await else { return };
    let separator = if f.db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{separator}sslmode=require", f.db.url);
    let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .args(["--database-url", &url, "--lifetime", "1h", "issue", "--user", &f.user.to_string()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(f.rows().await, 1);
    // The Diesel store too, checking the server's certificate (self-signed, for localhost).
    let cert = f.db.conn.query_one_raw(Statement::from_string(
        sea_orm::DbBackend::Postgres,
        "SELECT setting FROM pg_settings WHERE name = 'ssl_cert_file'",
    ));
    let cert: String = cert.await.unwrap().unwrap().try_get_by_index(0).unwrap();
    let verified = format!("{url}&sslmode=verify-full&sslrootcert={cert}")
        .replace("sslmode=require&", "")
        .replacen("127.0.0.1", "localhost", 1);
    let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .args([
            "--database-url",
            &verified,
            "--orm",
            "diesel",
            "--lifetime",
            "1h",
            "issue",
            "--user",
        ])
        .arg(f.user.to_string())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(f.rows().await, 2);
    let untrusted = verified.replace(&cert, "system"); // the public roots: self-signed fails
    let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .args(["--database-url", &untrusted, "--orm", "diesel", "--lifetime", "1h", "verify", "x"])
        .output()
        .unwrap();
    assert_clean_error(&output, "invalid peer certificate");

    // M5: a second private CA, which never signed the server's certificate. Through SeaORM
    // (sqlx, which would add the public roots to it and, for verify-ca, check no name) every
    // mode that names it is refused before connecting; through Diesel it is the only trust
    // anchor, and the server's certificate fails against it.
    let dir = std::env::temp_dir().join(format!("authtoken-ca-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let other_ca = dir.join("other-ca.pem");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj"])
        .args(["/CN=another private CA", "-keyout"])
        .arg(dir.join("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let other = other_ca.display().to_string();
    for (mode, refusal) in [
        ("verify-ca", "verify-ca is refused"),
        ("verify-full", "private CA"),
        ("require", "root certificate with sslmode=require"),
    ] {
        let url = verified.replace(&cert, &other).replace("verify-full", mode);
        let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args(["--database-url", &url, "--lifetime", "1h", "verify", "x"])
            .output()
            .unwrap();
        assert_clean_error(&output, refusal);
    }
    for mode in ["verify-ca", "verify-full"] {
        let url = verified.replace(&cert, &other).replace("verify-full", mode);
        let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args(["--database-url", &url, "--orm", "diesel", "--lifetime", "1h", "verify", "x"])
            .output()
            .unwrap();
        assert_clean_error(&output, "invalid peer certificate");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    f.db.drop_database().await;
}

/// The CLI on one Redis and on a cluster: issue, verify, list, revoke, revoke-user; purge says
/// Redis expires keys itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_commands() {
    let single = std::env::var("AUTHTOKEN_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let cluster = std::env::var("AUTHTOKEN_TEST_REDIS_CLUSTER_URL").ok().filter(|u| !u.is_empty());
    for url in std::iter::once(single).chain(cluster) {
        if authtoken_tests::redis::setup_url(&url).await.is_none() {
            continue;
        }
        let prefix = format!("authtoken-cli-test:{}:", uuid::Uuid::new_v4().simple());
        let run = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_authtoken"))
                .args(["--database-url", &url, "--key-prefix", &prefix, "--user-id-type", "i64"])
                .args(args)
                .output()
                .unwrap()
        };
        // M6: no key is written without a TTL unless the lifetime is said to be none.
        assert_clean_error(&run(&["issue", "--user", "42"]), "issue needs --lifetime");
        if !url.starts_with("redis+cluster://") {
            assert_eq!(redis_ttls(&url, &prefix), Vec::<i64>::new(), "nothing written");
            let forever = run(&["--lifetime", "none", "issue", "--user", "7"]);
            assert_eq!(forever.status.code(), Some(0), "{}", stderr(&forever));
            assert_eq!(redis_ttls(&url, &prefix), vec![-1], "none said: no TTL");
            assert_eq!(stdout(&run(&["revoke-user", "7"])).trim(), "revoked 1 token(s) of user 7");
        }
        let issued = run(&["--lifetime", "1h", "issue", "--user", "42"]);
        assert_eq!(issued.status.code(), Some(0), "{url}: {}", stderr(&issued));
        if !url.starts_with("redis+cluster://") {
            let ttls = redis_ttls(&url, &prefix);
            assert!(ttls.len() == 1 && (3500..=3600).contains(&ttls[0]), "{ttls:?}");
        }
        let token = stdout(&issued).trim().to_owned();
        let verified = run(&["--lifetime", "1h", "verify", &token]);
        assert!(stdout(&verified).starts_with("valid: user 42"), "{url}: {}", stdout(&verified));
        let listed = stdout(&run(&["--lifetime", "1h", "list", "--user", "42"]));
        assert!(listed.contains("1 token(s) of user 42") && !listed.contains(&token), "{listed}");
        let second = stdout(&run(&["--lifetime", "1h", "issue", "--user", "42"])).trim().to_owned();
        assert_eq!(stdout(&run(&["revoke", &second])).trim(), "revoked");
        let all = run(&["revoke-user", "42"]);
        assert_eq!(stdout(&all).trim(), "revoked 1 token(s) of user 42", "{url}");
        assert_eq!(run(&["--lifetime", "1h", "verify", &token]).status.code(), Some(1));
        let purge = run(&["--lifetime", "1h", "purge"]);
        assert!(stdout(&purge).starts_with("nothing to purge: Redis"), "{}", stdout(&purge));
        let third = stdout(&run(&["--lifetime", "1h", "issue", "--user", "42"])).trim().to_owned();
        let elsewhere = Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .args(["--database-url", &url, "--key-prefix", "elsewhere:", "--user-id-type", "i64"])
            .args(["--lifetime", "1h", "verify", &third])
            .output()
            .unwrap();
        assert_eq!(elsewhere.status.code(), Some(1), "the prefix scopes the keys");
        assert_eq!(stdout(&run(&["revoke-user", "42"])).trim(), "revoked 1 token(s) of user 42");

        // API tokens: the details ride in the value with --redis-details, and only with it.
        let named = [
            "--lifetime",
            "1h",
            "issue",
            "--user",
            "42",
            "--name",
            "CI",
            "--scopes",
            "read,deploy",
        ];
        assert_clean_error(&run(&named), "name");
        let detailed = |args: &[&str]| {
            let mut all = vec!["--redis-details"];
            all.extend_from_slice(args);
            run(&all)
        };
        let issued = detailed(&[&named[..], &["--expires-in", "90d"]].concat());
        assert_eq!(issued.status.code(), Some(0), "{url}: {}", stderr(&issued));
        let api_token = stdout(&issued).trim().to_owned();
        let verified = detailed(&["verify", &api_token]);
        assert_eq!(verified.status.code(), Some(0), "{url}: {}", stderr(&verified));
        let listed = stdout(&detailed(&["--lifetime", "1h", "list", "--user", "42"]));
        assert!(listed.contains("CI") && listed.contains("read,deploy"), "{url}: {listed}");
        assert_eq!(stdout(&detailed(&["revoke", &api_token])).trim(), "revoked");
    }
}

/// The CLI on MongoDB (`AUTHTOKEN_TEST_MONGODB_URL`, a database of the test's own): issue,
/// verify, list, revoke, revoke-user and purge, with ObjectId user ids on the native layout and
/// on fastapi-users' Beanie layout (plain mode), API-token details included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_commands() {
    let Some(server) = std::env::var("AUTHTOKEN_TEST_MONGODB_URL").ok().filter(|u| !u.is_empty())
    else {
        assert!(std::env::var_os("CI").is_none(), "AUTHTOKEN_TEST_MONGODB_URL is not set in CI");
        return;
    };
    let database = format!("authtoken_cli_test_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}/{database}", server.trim_end_matches('/'));
    let user = "6b0a1fe2c35cff09acb747cd";
    for layout in
        [&["--mongodb-layout", "native"][..], &["--mongodb-layout", "beanie", "--storage", "plain"]]
    {
        let run = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_authtoken"))
                .args(["--database-url", &url, "--user-id-type", "objectid"])
                .args(layout)
                .args(args)
                .output()
                .unwrap()
        };
        let issued = run(&["--lifetime", "1h", "issue", "--user", user]);
        assert_eq!(issued.status.code(), Some(0), "{layout:?}: {}", stderr(&issued));
        let token = stdout(&issued).trim().to_owned();
        let verified = run(&["--lifetime", "1h", "verify", &token]);
        assert!(
            stdout(&verified).starts_with(&format!("valid: user {user}")),
            "{}",
            stdout(&verified)
        );
        let named = run(&[
            "issue",
            "--user",
            user,
            "--name",
            "CI",
            "--scopes",
            "read,deploy",
            "--expires-in",
            "90d",
        ]);
        assert_eq!(named.status.code(), Some(0), "{layout:?}: {}", stderr(&named));
        let listed = stdout(&run(&["--lifetime", "1h", "list", "--user", user]));
        assert!(listed.contains(&format!("2 token(s) of user {user}")), "{layout:?}: {listed}");
        assert!(listed.contains("read,deploy") && !listed.contains(&token), "{listed}");
        assert_eq!(stdout(&run(&["revoke", &token])).trim(), "revoked");
        assert_eq!(run(&["--lifetime", "1h", "verify", &token]).status.code(), Some(1));
        let all = run(&["revoke-user", user]);
        assert_eq!(stdout(&all).trim(), format!("revoked 1 token(s) of user {user}"), "{layout:?}");
        let purge = run(&["--lifetime", "1h", "purge"]);
        assert_eq!(purge.status.code(), Some(0), "{layout:?}: {}", stderr(&purge));
    }
    let wrong = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .args([
            "--database-url",
            "sqlite::memory:",
            "--user-id-type",
            "objectid",
            "issue",
            "--user",
            user,
        ])
        .output()
        .unwrap();
    assert_clean_error(&wrong, "MongoDB");
    let remote = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .args([
            "--database-url",
            "mongodb://db.example.com/app",
            "--lifetime",
            "1h",
            "list",
            "--user",
            "1",
        ])
        .output()
        .unwrap();
    assert_clean_error(&remote, "TLS");
    let client = authtoken_mongodb::mongodb::Client::with_uri_str(&server).await.unwrap();
    client.database(&database).drop().await.unwrap();
}

/// Every SQLite URL form names the same file through either store: `sqlite:PATH`,
/// `sqlite://PATH` and SQLAlchemy's absolute `sqlite:////PATH`; a MySQL URL asking for TLS is
/// refused by the Diesel store, which has none there yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_url_forms_and_diesel_without_mysql_tls() {
    let Some(f) = Fixture::new(Engine::Sqlite).await else { return };
    let file = f.db.url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
    assert!(file.starts_with('/'), "{file}");
    let user = f.user.to_string();
    for url in [format!("sqlite:{file}"), format!("sqlite://{file}"), format!("sqlite:///{file}")] {
        for orm in ["sea-orm", "diesel"] {
            let output = Command::new(env!("CARGO_BIN_EXE_authtoken"))
                .args(["--database-url", &url, "--orm", orm, "--lifetime", "1h", "list", "--user"])
                .arg(&user)
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(0), "{url} {orm}: {}", stderr(&output));
        }
    }
    let mysql = Command::new(env!("CARGO_BIN_EXE_authtoken"))
        .args(["--database-url", "mysql://root@127.0.0.1/test?ssl-mode=REQUIRED", "--orm"])
        .args(["diesel", "--lifetime", "1h", "verify", "x"])
        .output()
        .unwrap();
    assert_clean_error(&mysql, "--orm diesel has no TLS to MySQL/MariaDB yet");
    f.db.drop_database().await;
}

/// L7: text from the database (a token's name, its scopes) reaches the terminal escaped, through
/// either store: a row cannot set the window title, clear the screen or reorder the line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_text_cannot_drive_the_terminal() {
    for orm in [None, Some("diesel")] {
        let Some(f) = Fixture::with_orm(Engine::Sqlite, orm).await else { return };
        let insert = "INSERT INTO access_token (token, user_id, created_at, name, scopes) \
                      VALUES (?, ?, ?, ?, ?)";
        let created = Utc::now().format(authtoken_sql::SQLITE_TIMESTAMP).to_string();
        let values: [Value; 5] = [
            authtoken_tests::spec::foreign_token().into(),
            f.user.into(),
            created.into(),
            "\u{1b}]0;pwned\u{7}".into(),
            "read \u{1b}[2J\u{202e}deploy\u{9b}".into(),
        ];
        let statement = Statement::from_sql_and_values(sea_orm::DbBackend::Sqlite, insert, values);
        f.db.conn.execute_raw(statement).await.unwrap();
        let listed = f.run(&["--lifetime", "1h", "list", "--user", &f.user.to_string()]);
        let text = stdout(&listed);
        assert_eq!(listed.status.code(), Some(0), "{orm:?}: {}", stderr(&listed));
        for raw in [b'\x1b', b'\x07'] {
            assert!(!listed.stdout.contains(&raw), "{orm:?}: {raw:#x} printed: {text:?}");
        }
        assert!(!text.contains(['\u{202e}', '\u{9b}']), "{orm:?}: {text:?}");
        assert!(text.contains(r"\u{1b}]0;pwned\u{7}"), "{orm:?}: {text}");
        assert!(text.contains(r"read,\u{1b}[2J\u{202e}deploy\u{9b}"), "{orm:?}: {text}");
        f.db.drop_database().await;
    }
}

/// One row whose `created_at` no store can read (written by hand or by another tool) does not
/// stop `revoke`, `revoke-user` (which deletes the bad row too, by its user) or `purge`, and the
/// bad row's token never authenticates. The bad row is the table's first, the one `check_table`
/// samples.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_created_at_stops_no_revoke_or_purge() {
    // Both stores' table checks read only the key and the owner of the row they sample.
    // (Listing the rows of the bad row's user still fails as a whole, with the row's error.)
    for orm in [None, Some("diesel")] {
        a_garbage_created_at_stops_no_revoke_or_purge_through(orm).await;
    }
}

async fn a_garbage_created_at_stops_no_revoke_or_purge_through(orm: Option<&'static str>) {
    use authtoken::StorageMode;
    use authtoken::token::fingerprint;
    let Some(f) = Fixture::with_orm(Engine::Sqlite, orm).await else { return };
    let user = f.user.to_string();
    let issue =
        || stdout(&f.run(&["--lifetime", "1h", "issue", "--user", &user])).trim().to_owned();
    let (bad, good, _third) = (issue(), issue(), issue());
    // In hashed storage the stored key starts with the token's fingerprint.
    let bad_key = fingerprint(&bad, StorageMode::Plain);
    let corrupt = format!(
        "UPDATE access_token SET created_at = 'garbage\u{1b}[2J' \
         WHERE substr(token, 1, 8) = '{bad_key}'"
    );
    let corrupted = f.db.conn.execute_unprepared(&corrupt).await.unwrap();
    assert_eq!(corrupted.rows_affected(), 1);

    let verified = f.run(&["--lifetime", "1h", "verify", &bad]);
    assert!(matches!(verified.status.code(), Some(1 | 2)), "{}", stdout(&verified));
    assert!(!stdout(&verified).starts_with("valid"), "{}", stdout(&verified));
    assert!(!stderr(&verified).contains("panicked"), "{}", stderr(&verified));
    assert!(!verified.stderr.contains(&b'\x1b'), "an escape reached the terminal");

    // Listing the bad row's user fails with the row's error, clean of the stored escape.
    let listed = f.run(&["--lifetime", "1h", "list", "--user", &user]);
    assert_eq!(listed.status.code(), Some(2), "{}", stdout(&listed));
    assert!(!stderr(&listed).contains("panicked"), "{}", stderr(&listed));
    assert!(!listed.stderr.contains(&b'\x1b'), "an escape reached the terminal");

    let revoked = f.run(&["revoke", &good]);
    assert_eq!(stdout(&revoked).trim(), "revoked", "{}", stderr(&revoked));
    let dry = f.run(&["--lifetime", "1h", "purge", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let purged = f.run(&["--lifetime", "1h", "purge"]);
    assert_eq!(purged.status.code(), Some(0), "{}", stderr(&purged));
    let all = f.run(&["revoke-user", &user]);
    let expected = format!("revoked 2 token(s) of user {user}");
    assert_eq!(stdout(&all).trim(), expected, "{}", stderr(&all));
    f.db.drop_database().await;
}

/// A secret file (the database URL's, the hash keys') that the group or others may read or
/// write is used, with one warning line each on stderr; a `chmod 600` silences it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_files_open_to_others_are_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let Some(f) = Fixture::new(Engine::Sqlite).await else { return };
    let dir = std::env::temp_dir().join(format!("authtoken-cli-modes-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (url_file, key_file) = (dir.join("database-url"), dir.join("keys"));
    std::fs::write(&url_file, format!("{}\n", f.db.url)).unwrap();
    std::fs::write(&key_file, "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n").unwrap();
    let chmod = |file: &std::path::Path, mode: u32| {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_authtoken"))
            .env_remove("DATABASE_URL")
            .env("AUTHTOKEN_DATABASE_URL_FILE", &url_file)
            .arg("--hash-key-file")
            .arg(&key_file)
            .args(["--lifetime", "1h", "list", "--user", &f.user.to_string()])
            .output()
            .unwrap()
    };
    chmod(&url_file, 0o644);
    chmod(&key_file, 0o660);
    let output = run();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let warnings: Vec<String> = stderr(&output).lines().map(str::to_owned).collect();
    assert_eq!(
        warnings,
        [
            format!(
                "warning: {} is readable by group and others (mode 644); chmod 600 it",
                url_file.display()
            ),
            format!(
                "warning: {} is readable and writable by group (mode 660); chmod 600 it",
                key_file.display()
            ),
        ]
    );
    chmod(&url_file, 0o600);
    chmod(&key_file, 0o400);
    let output = run();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "no warning for files of the owner's only");
    std::fs::remove_dir_all(&dir).unwrap();
    f.db.drop_database().await;
}

/// The TTLs (in seconds; -1 for none) of the token keys under `prefix` on one Redis, through
/// `redis-cli`.
fn redis_ttls(url: &str, prefix: &str) -> Vec<i64> {
    let cli = |args: &[&str]| {
        let output = Command::new("redis-cli").args(["-u", url]).args(args).output();
        String::from_utf8(output.expect("redis-cli").stdout).expect("UTF-8")
    };
    let keys = cli(&["--scan", "--pattern", &format!("{prefix}*")]);
    keys.lines()
        .filter(|key| !key.trim_start_matches(prefix).contains(':'))
        .map(|key| cli(&["TTL", key]).trim().parse().expect("a TTL"))
        .collect()
}
