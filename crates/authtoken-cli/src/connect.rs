//! From the options to a connection: the URL (from a flag, the environment or a file), its
//! dialect, TLS, the SQLite file, and the secrets no message may show.

use std::net::IpAddr;
use std::path::Path;
#[cfg(feature = "sea-orm")]
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
#[cfg(feature = "sea-orm")]
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::args::TableOptions;

/// The database URL to use: from `--database-url-file` if given, else `--database-url`
/// (or `DATABASE_URL`), with SQLAlchemy's `dialect+driver://` scheme reduced to the dialect.
pub fn database_url(options: &TableOptions) -> anyhow::Result<String> {
    let url = match &options.database_url_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --database-url-file {}", path.display()))?
            .trim()
            .to_owned(),
        None => options.database_url.clone(),
    };
    Ok(without_driver(&url))
}

/// `postgresql+asyncpg://…` → `postgres://…`, `mysql+aiomysql://…` → `mysql://…`,
/// `sqlite+aiosqlite:///x.db` → `sqlite:///x.db`: the form fastapi-users users keep in
/// `DATABASE_URL` works as it is.
fn without_driver(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if scheme == "redis+cluster" || scheme == "rediss+cluster" {
        return url.to_owned(); // ours, not SQLAlchemy's dialect+driver
    }
    let dialect = scheme.split_once('+').map_or(scheme, |(dialect, _)| dialect);
    let dialect = if dialect == "postgresql" { "postgres" } else { dialect };
    format!("{dialect}://{rest}")
}

/// The passwords a URL carries (in its user info or a `password=` parameter), raw and decoded:
/// what every message must have scrubbed out.
pub fn secrets_of(url: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Ok(parsed) = url::Url::parse(url) {
        if let Some(password) = parsed.password() {
            secrets.push(password.to_owned());
        }
        // Raw, as the URL's text shows it; the decoded form is added below.
        for pair in parsed.query().unwrap_or("").split('&') {
            if let Some((key, value)) = pair.split_once('=')
                && key.to_ascii_lowercase().contains("password")
            {
                secrets.push(value.to_owned());
            }
        }
    } else if let Some((_, rest)) = url.split_once("://") {
        // Not a URL to the parser, but it may still hold `user:password@`.
        if let Some((_, password)) = rest.split_once('@').and_then(|(info, _)| info.split_once(':'))
        {
            secrets.push(password.to_owned());
        }
    }
    let decoded: Vec<String> =
        secrets.iter().filter_map(|s| percent_decode(s)).filter(|d| !secrets.contains(d)).collect();
    secrets.extend(decoded);
    secrets.retain(|s| !s.is_empty());
    // Longest first, so a secret that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

fn percent_decode(text: &str) -> Option<String> {
    let decoded: String = url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())?;
    (decoded != text).then_some(decoded)
}

/// `text` with every secret replaced by `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| text.replace(secret.as_str(), "***"))
}

/// The URL as messages show it: without its passwords.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(_) => scrub(url, &secrets_of(url)),
        Err(_) => "the given database URL (not a URL)".to_owned(),
    }
}

/// Refuses what would be a silent mistake before any connection is tried: a cleartext
/// connection to another machine, or a SQLite file that does not exist (the CLI never creates
/// a database).
pub fn check(url: &str, allow_plaintext: bool) -> anyhow::Result<()> {
    // A cluster is a list of nodes, which is not one URL: each node is checked as one; over TLS
    // every node is reached with it.
    if url.starts_with("rediss+cluster://") {
        return Ok(());
    }
    if let Some(nodes) = url.strip_prefix("redis+cluster://") {
        for node in nodes.split(',').filter(|n| !n.is_empty()) {
            check(&format!("redis://{node}"), allow_plaintext)?;
        }
        return Ok(());
    }
    let parsed = url::Url::parse(url).map_err(|e| anyhow!("cannot use {}: {e}", shown(url)))?;
    match parsed.scheme() {
        "sqlite" => sqlite_file_exists(url),
        "rediss" | "mongodb+srv" => Ok(()),
        "mongodb" => {
            if allow_plaintext || mongodb_asks_for_tls(&parsed) || mongodb_is_local(url) {
                return Ok(());
            }
            bail!(
                "refusing a connection without TLS to a MongoDB on another machine: add tls=true \
                 to the URL, or pass --allow-plaintext"
            )
        }
        "redis" | "redis+cluster" | "postgres" | "mysql" | "mariadb" => {
            if allow_plaintext || asks_for_tls(&parsed) {
                return Ok(());
            }
            let Some(remote) = remote_host(&parsed) else {
                return Ok(());
            };
            bail!(
                "refusing a connection without TLS to {remote}: add sslmode=require (PostgreSQL) \
                 or ssl-mode=REQUIRED (MySQL) to the URL, use rediss:// (Redis), or pass \
                 --allow-plaintext"
            )
        }
        other => bail!(
            "unsupported database URL scheme `{other}`: use sqlite, postgres, mysql, redis, \
             rediss, redis+cluster, rediss+cluster, mongodb or mongodb+srv"
        ),
    }
}

/// Whether the URL names Redis (one server or a cluster) rather than a SQL database.
pub fn is_redis(url: &str) -> bool {
    ["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

/// Whether the URL names MongoDB.
pub fn is_mongodb(url: &str) -> bool {
    url.starts_with("mongodb://") || url.starts_with("mongodb+srv://")
}

/// `tls=true` or `ssl=true` in a MongoDB URL.
fn mongodb_asks_for_tls(url: &url::Url) -> bool {
    url.query_pairs().any(|(key, value)| {
        matches!(&*key.to_ascii_lowercase(), "tls" | "ssl") && value.eq_ignore_ascii_case("true")
    })
}

/// Whether every host of a MongoDB URL (a comma-separated list) is loopback.
fn mongodb_is_local(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let hosts = rest.split(['/', '?']).next().unwrap_or("");
    let hosts = hosts.rsplit_once('@').map_or(hosts, |(_, hosts)| hosts);
    hosts.split(',').all(|host| {
        url::Url::parse(&format!("mongodb://{host}"))
            .is_ok_and(|parsed| remote_host(&parsed).is_none())
    })
}

/// Whether the URL insists on TLS; `prefer` and `allow` fall back to cleartext, so they do not.
fn asks_for_tls(url: &url::Url) -> bool {
    url.query_pairs().any(|(key, value)| {
        let (key, value) = (key.to_ascii_lowercase(), value.to_ascii_lowercase());
        (key == "sslmode" && matches!(&*value, "require" | "verify-ca" | "verify-full"))
            || (key == "ssl-mode"
                && matches!(&*value, "required" | "verify_ca" | "verify_identity"))
    })
}

/// The first host of the URL whose traffic would leave the machine, if any. Every host it
/// names counts, since a driver may try each (libpq and tokio-postgres try them in turn, sqlx
/// takes a parameter over the URL's host): the URL's own, a comma-separated list, and every
/// `host=` and `hostaddr=` value, lists too. A socket parameter cannot vouch for a TCP host.
fn remote_host(url: &url::Url) -> Option<String> {
    let own = url.host_str().unwrap_or("");
    // `%2Frun%2Fpostgresql` as the URL's host is a socket path, as sqlx reads it.
    let own = percent_decode(own).unwrap_or_else(|| own.to_owned());
    let parameters = url
        .query_pairs()
        .filter(|(key, _)| key == "host" || key == "hostaddr")
        .map(|(_, value)| value.into_owned());
    let named: Vec<String> = std::iter::once(own).chain(parameters).collect();
    named.iter().flat_map(|hosts| hosts.split(',')).find(|host| !is_local(host)).map(str::to_owned)
}

/// Loopback, or a Unix socket path: traffic that never leaves the machine. An empty host is
/// the driver's default, the local socket or `localhost`.
fn is_local(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The file and the parameters of a SQLite URL: `sqlite:x.db` and `sqlite://x.db` are
/// relative, `sqlite:///x.db` (and SQLAlchemy's `sqlite:////x.db`) absolute.
pub fn sqlite_file(url: &str) -> (&str, &str) {
    let rest = url.strip_prefix("sqlite:").unwrap_or(url);
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    // `//x.db` names `/x.db`; as a `file:` URI it would name a host.
    let path = if path.starts_with("//") {
        &path[path.len() - path.trim_start_matches('/').len() - 1..]
    } else {
        path
    };
    (path, query)
}

fn sqlite_file_exists(url: &str) -> anyhow::Result<()> {
    let (path, query) = sqlite_file(url);
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return Ok(());
    }
    if !Path::new(path).is_file() {
        bail!(
            "no SQLite database at {path}: the CLI opens existing databases only (create it with the migration first)"
        );
    }
    Ok(())
}

/// A SQLite URL opened read-write, never created: never `mode=rwc` (the default URL's), so a
/// missing file is an error, not a new database. Other URLs are returned as they are.
#[cfg(any(feature = "sea-orm", feature = "diesel"))]
pub fn never_create(url: &str) -> String {
    if !url.starts_with("sqlite:") {
        return url.to_owned();
    }
    let url = url.replace("mode=rwc", "mode=rw");
    if url.contains("mode=") {
        url
    } else {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}mode=rw")
    }
}

/// Connects with short timeouts; SQLite files are opened read-write, never created.
#[cfg(feature = "sea-orm")]
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    // A TLS mode sqlx would verify more weakly than the URL says is refused, not weakened.
    authtoken_sea_orm::tls::check_url(url)?;
    let url = never_create(url);
    let mut options = ConnectOptions::new(&url);
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(2)
        .sqlx_logging(false);
    tracing::debug!(database = %shown(&url), "connecting");
    Database::connect(options).await.with_context(|| format!("cannot connect to {}", shown(&url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(shown("postgres://u:secret@db/x"), "postgres://u:***@db/x");
        assert_eq!(shown("sqlite://a.db"), "sqlite://a.db");
        assert!(!shown("not a url with secret").contains("secret"));
        let url = "postgres://app@db/x?sslmode=require&password=S3cr%40t";
        let secrets = secrets_of(url);
        assert!(secrets.contains(&"S3cr%40t".to_owned()) && secrets.contains(&"S3cr@t".to_owned()));
        assert_eq!(
            scrub("auth failed for S3cr@t and S3cr%40t", &secrets),
            "auth failed for *** and ***"
        );
        let asyncpg = "postgresql+asyncpg://app:S3cretPW@127.0.0.1:5432/db";
        assert_eq!(without_driver(asyncpg), "postgres://app:S3cretPW@127.0.0.1:5432/db");
        assert_eq!(secrets_of("weird+x://app:pw@[::1/"), vec!["pw".to_owned()]);
    }

    #[test]
    fn sqlite_urls_name_the_file_as_sqlx_and_sqlalchemy_do() {
        assert_eq!(sqlite_file("sqlite:app.db"), ("app.db", ""));
        assert_eq!(sqlite_file("sqlite://app.db?mode=rwc"), ("app.db", "mode=rwc"));
        assert_eq!(sqlite_file("sqlite:///var/app.db"), ("/var/app.db", ""));
        assert_eq!(sqlite_file("sqlite:////var/app.db"), ("/var/app.db", ""));
        assert_eq!(sqlite_file("sqlite://./app.db"), ("./app.db", ""));
    }

    #[test]
    fn cleartext_to_another_machine_needs_an_explicit_yes() {
        for local in [
            "postgres://u@127.0.0.1/x",
            "postgres://u@localhost:5432/x",
            "mysql://root@[::1]:3306/x",
            "postgres://u@db.example/x?sslmode=require",
            "mysql://u@db.example/x?ssl-mode=REQUIRED",
            "postgres:///x?host=/run/postgresql",
        ] {
            assert!(check(local, false).is_ok(), "{local}");
        }
        for remote in ["postgres://u@db.example/x", "postgres://u@10.0.0.5/x?sslmode=prefer"] {
            let error = check(remote, false).unwrap_err().to_string();
            assert!(error.contains("refusing a connection without TLS"), "{error}");
            assert!(check(remote, true).is_ok());
        }
    }

    /// L1: a `host=/socket` parameter does not make a remote URL host local: every host a URL
    /// names (its own list, each `host=` and `hostaddr=` value, comma lists too) must be local.
    #[test]
    fn every_host_of_a_url_must_be_local() {
        for remote in [
            "postgres://u@db.example/x?host=/run/postgresql",
            "postgres://u@db.example/x?sslmode=prefer&host=%2Frun%2Fpostgresql",
            "postgres://u@localhost/x?host=db.example",
            "postgres:///x?host=/run/postgresql,db.example",
            "postgres:///x?host=/run/postgresql&host=10.0.0.5",
            "postgres:///x?host=/run/postgresql&hostaddr=10.0.0.5",
            "postgres://localhost,db.example/x",
        ] {
            let error = check(remote, false).expect_err(remote).to_string();
            assert!(error.contains("refusing a connection without TLS"), "{remote}: {error}");
            assert!(error.contains("db.example") || error.contains("10.0.0.5"), "{error}");
        }
        for local in [
            "postgres:///x?host=/run/postgresql,/tmp",
            "postgres:///x?host=/run/postgresql&hostaddr=127.0.0.1",
            "postgres://%2Frun%2Fpostgresql/x",
            "postgres://localhost,127.0.0.1/x",
            "postgres://[::1]/x?host=localhost",
        ] {
            assert!(check(local, false).is_ok(), "{local}");
        }
    }
}
