//! The migration that creates authtoken's token table, for any sea-orm-migration `Migrator`.
//!
//! [`CreateAccessTokenTable`] is a value: configure it with your user table, its key and the key's
//! type, and list it after your user-table migration. The crate's binary is the standard
//! sea-orm-migration CLI over [`demo::Migrator`] (a UUID-keyed `user` table, then the token
//! table), reading `DATABASE_URL` and defaulting to [`DEFAULT_DATABASE_URL`].

mod client_columns;
mod create_access_token;
pub mod demo;
mod identifiers;
mod login_throttle;
mod refresh_tokens;
mod revocation_log;
mod revocation_publication;
mod revocation_trigger;
mod token_details;

pub use client_columns::AddClientColumns;
pub use create_access_token::{CreateAccessTokenTable, UserIdType};
pub use login_throttle::CreateLoginThrottleTable;
pub use refresh_tokens::CreateRefreshTokenTables;
pub use revocation_log::{CreateRevocationLog, revocation_log_table};
pub use revocation_publication::CreateRevocationPublication;
pub use revocation_trigger::{CreateRevocationTrigger, default_revocation_channel};
pub use token_details::AddTokenDetails;

/// The embedded database used when `DATABASE_URL` is unset: a SQLite file in the working
/// directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://authtoken.db?mode=rwc";

/// Creates the SQLite file a URL names, readable and writable by its owner only (mode 0600 on
/// Unix), unless it exists or the URL is not a SQLite file: token rows (live credentials in plain
/// mode) must not land in a file any local user can read, as a driver's default mode would make.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("authtoken-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let url = format!("sqlite://{}/tokens.db?mode=rwc", dir.display());
/// authtoken_migration::create_private_sqlite_file(&url)?;
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// let mode = std::fs::metadata(dir.join("tokens.db"))?.permissions().mode();
/// assert_eq!(mode & 0o777, 0o600);
/// # }
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_private_sqlite_file(url: &str) -> std::io::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" || rest.contains("mode=memory") {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}
