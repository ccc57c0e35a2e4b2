//! TLS on the sqlx path, checked before a connection is made: the modes sqlx verifies more
//! weakly than libpq and the MySQL client are refused, with what to use instead.
//!
//! sqlx (under SeaORM) builds its certificate store from the public web roots *and* the given
//! `sslrootcert`/`ssl-ca`: so `verify-full` with a private CA also accepts any publicly trusted
//! certificate for the host's name, `verify-ca` accepts any publicly trusted certificate for any
//! name, and `require` with a root certificate checks nothing (libpq would check the chain).
//! Those URLs are an [`Error::Config`] here, never a weaker check than
//! the URL asks for. What stays: `require` (encrypted, unverified, as in libpq) and `verify-full`
//! without a root file (the public roots and the host name: libpq's `sslrootcert=system`).
//! The Diesel store (`authtoken-diesel`, `--orm diesel` in the CLI) verifies exactly as libpq
//! does, private CAs included.

use authtoken::{Error, Result};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Refuses a PostgreSQL or MySQL URL whose TLS parameters sqlx would verify more weakly than
/// they say; any other URL passes.
///
/// ```
/// use authtoken_sea_orm::tls::check_url;
///
/// assert!(check_url("postgres://app@db.internal/app?sslmode=verify-full").is_ok());
/// assert!(check_url("postgres://app@db.internal/app?sslmode=require").is_ok());
/// assert!(check_url("postgres://app@db.internal/app?sslmode=verify-ca&sslrootcert=ca.pem").is_err());
/// assert!(check_url("postgres://app@db/app?sslmode=verify-full&sslrootcert=private-ca.pem").is_err());
/// assert!(check_url("mysql://app@db/app?ssl-mode=VERIFY_CA&ssl-ca=ca.pem").is_err());
/// ```
pub fn check_url(url: &str) -> Result<()> {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme).to_ascii_lowercase();
    let query = url.split_once('?').map_or("", |(_, query)| query);
    // Decoded as a URL's query is: `%76erify-ca` is `verify-ca` to the driver too.
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| {
            (key.to_ascii_lowercase().replace('_', "-"), value.to_ascii_lowercase())
        })
        .collect();
    let value = |names: &[&str]| {
        params.iter().rev().find(|(key, _)| names.contains(&key.as_str())).map(|(_, v)| v.clone())
    };
    // What sqlx falls back to when the URL says nothing.
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (mode, root) = match scheme.as_str() {
        "postgres" | "postgresql" => (
            value(&["sslmode", "ssl-mode"]).or_else(|| env("PGSSLMODE")),
            value(&["sslrootcert", "ssl-root-cert", "ssl-ca", "sslca"])
                .or_else(|| env("PGSSLROOTCERT")),
        ),
        "mysql" | "mariadb" => (value(&["ssl-mode", "sslmode"]), value(&["ssl-ca", "sslca"])),
        _ => return Ok(()),
    };
    let Some(mode) = mode.map(|m| m.replace('_', "-")) else { return Ok(()) };
    let refusal = match (mode.as_str(), root.is_some()) {
        ("verify-ca", _) => Some(
            "verify-ca is refused on the SeaORM (sqlx) path: sqlx trusts the public roots \
             besides the given CA there and checks no host name, so any publicly trusted \
             certificate would pass. Use verify-full (verify-identity on MySQL) without a root \
             file, or the Diesel store (`--orm diesel`), which verifies as libpq does",
        ),
        ("verify-full" | "verify-identity", true) => Some(
            "a private CA (sslrootcert / ssl-ca) with verify-full is refused on the SeaORM (sqlx) \
             path: sqlx trusts every public CA besides it, so a publicly trusted certificate for \
             the host's name would pass. Use the Diesel store (`--orm diesel`), which trusts \
             the given CA alone, as libpq does",
        ),
        ("require" | "required" | "prefer" | "preferred" | "allow", true) => Some(
            "a root certificate with sslmode=require is refused on the SeaORM (sqlx) path: \
             libpq checks the chain then, sqlx checks nothing. Drop the root file to ask for \
             encryption alone, or use the Diesel store (`--orm diesel`) to verify",
        ),
        _ => None,
    };
    refusal.map_or(Ok(()), |message| Err(Error::Config(message)))
}

/// [`check_url`], then SeaORM's `Database::connect` with `options` built from the URL.
///
/// ```no_run
/// # async fn run() -> authtoken::Result<()> {
/// let db = authtoken_sea_orm::tls::connect("postgres://app@db.internal/app?sslmode=verify-full").await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    check_url(url)?;
    Database::connect(ConnectOptions::new(url)).await.map_err(Error::store)
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn only_the_modes_sqlx_weakens_are_refused() {
        for passes in [
            "postgres://u@h/d",
            "postgres://u@h/d?sslmode=disable",
            "postgres://u@h/d?sslmode=require",
            "postgres://u@h/d?sslmode=verify-full",
            "postgresql://u@h/d?application_name=x&sslmode=prefer",
            "mysql://u@h/d?ssl-mode=REQUIRED",
            "mysql://u@h/d?ssl-mode=VERIFY_IDENTITY",
            "sqlite://x.db?mode=rwc",
            "redis://h?sslrootcert=x",
        ] {
            assert!(check_url(passes).is_ok(), "{passes}");
        }
        for refused in [
            "postgres://u@h/d?sslmode=verify-ca",
            "postgres://u@h/d?sslmode=VERIFY-CA&sslrootcert=/ca.pem",
            "postgres://u@h/d?sslrootcert=/ca.pem&sslmode=verify-full",
            "postgres://u@h/d?sslmode=require&sslrootcert=/ca.pem",
            "postgres://u@h/d?ssl-mode=verify-ca",
            "mysql://u@h/d?ssl-mode=VERIFY_CA",
            "mariadb://u@h/d?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca.pem",
            "mysql://u@h/d?ssl-mode=REQUIRED&ssl-ca=/ca.pem",
            // The last of a repeated parameter is the one a driver keeps.
            "postgres://u@h/d?sslmode=require&sslmode=verify-ca",
            // sqlx reads `ssl-ca` as the root file on PostgreSQL too; encoded values decode.
            "postgres://u@h/d?sslmode=verify-full&ssl-ca=/ca.pem",
            "postgres://u@h/d?sslmode=%76erify-ca",
        ] {
            assert!(check_url(refused).is_err(), "{refused}");
        }
    }
}
