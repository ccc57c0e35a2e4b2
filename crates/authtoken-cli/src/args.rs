//! The command line: subcommands and the options they share, each also read from the environment.

use std::time::Duration;

use authtoken::StorageMode;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The database when none is named: the SQLite file the migration CLI makes by default.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://authtoken.db?mode=rwc";

/// Operate on authtoken's access tokens: issue, verify, revoke, list, purge.
#[derive(Debug, Parser)]
#[command(name = "authtoken", version)]
pub struct Cli {
    /// Where and how the tokens are stored.
    #[command(flatten)]
    pub table: TableOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the token table is and how it is laid out; match the application's configuration.
#[derive(Debug, Args)]
pub struct TableOptions {
    /// The database: sqlite://FILE, postgres://..., mysql://... (also the `postgresql+asyncpg://`
    /// form of SQLAlchemy), redis://..., rediss://... or redis+cluster://host:port,host:port. Prefer `--database-url-file` or the environment: arguments are
    /// visible to every user of the machine.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// A file holding the database URL (a mounted secret), instead of `--database-url`.
    #[arg(
        long,
        global = true,
        env = "AUTHTOKEN_DATABASE_URL_FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<std::path::PathBuf>,
    /// Connect to a database that is not on this machine without TLS. Without this flag such a
    /// URL must ask for TLS (`sslmode=require` on PostgreSQL, `ssl-mode=REQUIRED` on MySQL).
    #[arg(long, global = true, env = "AUTHTOKEN_ALLOW_PLAINTEXT")]
    pub allow_plaintext: bool,
    /// Log what the CLI does to stderr (never a token).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// On Redis: the prefix of every key (`fastapi_users_token:` is fastapi-users' own).
    #[arg(long, global = true, env = "AUTHTOKEN_KEY_PREFIX", default_value = "authtoken:")]
    pub key_prefix: String,
    /// On Redis: the values carry API-token details (name, scopes, own expiry, last use), as
    /// the application's `RedisStore::with_details` writes them. (SQL tables are asked.)
    #[arg(long, global = true, env = "AUTHTOKEN_REDIS_DETAILS")]
    pub redis_details: bool,
    /// On MongoDB: the document layout (`beanie` for a collection shared with fastapi-users).
    #[arg(long, global = true, env = "AUTHTOKEN_MONGODB_LAYOUT", value_enum, default_value_t = MongoLayout::Native)]
    pub mongodb_layout: MongoLayout,
    /// On MongoDB: UUID user ids are kept as text rather than as BSON binary (subtype 4).
    #[arg(long, global = true, env = "AUTHTOKEN_MONGODB_UUID_AS_TEXT")]
    pub mongodb_uuid_as_text: bool,
    /// On MongoDB: write `drop_after` for the application's TTL index, as its store does.
    #[arg(long, global = true, env = "AUTHTOKEN_MONGODB_TTL_INDEX")]
    pub mongodb_ttl_index: bool,
    /// The token table (`accesstoken` for a table shared with fastapi-users); on MongoDB the
    /// collection (the database is the URL's).
    #[arg(long, global = true, env = "AUTHTOKEN_TABLE", default_value = "access_token")]
    pub table: String,
    /// On SQL databases: the ORM whose store the CLI runs. `sea-orm` (the default) and `diesel`
    /// read and write the same rows; `diesel` runs authtoken-diesel's store, as a Diesel
    /// application does.
    #[arg(long, global = true, env = "AUTHTOKEN_ORM", value_enum, default_value_t = Orm::SeaOrm)]
    pub orm: Orm,
    /// The type of `user_id`, the same as the user table's key.
    #[arg(long, global = true, env = "AUTHTOKEN_USER_ID_TYPE", value_enum, default_value_t = UserIdType::Uuid)]
    pub user_id_type: UserIdType,
    /// How tokens are kept: `hashed` (SHA-256, the default) or `plain` (fastapi-users' way).
    #[arg(long, global = true, env = "AUTHTOKEN_STORAGE", value_enum, default_value_t = Storage::Hashed)]
    pub storage: Storage,
    /// Issue tokens as `PREFIX` + 43 characters + a 6-character checksum (e.g. `atk_`), as the
    /// application does: `issue` mints them, `verify` and `revoke` refuse a wrong checksum
    /// before any query. Bare 43-character tokens are still accepted.
    #[arg(long, global = true, env = "AUTHTOKEN_TOKEN_PREFIX")]
    pub token_prefix: Option<String>,
    /// A file of hash keys for the keyed storage hash (HMAC-SHA-256), one base64 key of at
    /// least 32 bytes per line, the current key first; lines starting with `#` are skipped.
    /// Match the application's keys.
    #[arg(long, global = true, env = "AUTHTOKEN_HASH_KEY_FILE")]
    pub hash_key_file: Option<std::path::PathBuf>,
    /// How long a token lives, e.g. `1h`, `30min`, `7days`; `none` if tokens never expire. Needed
    /// by `verify`, `list` and `purge`: there is no default, so a forgotten lifetime never
    /// reports an expired token as valid.
    #[arg(long, global = true, env = "AUTHTOKEN_LIFETIME", value_parser = parse_lifetime)]
    pub lifetime: Option<Lifetime>,
}

/// `Option<Duration>` under a name clap does not read as "optional argument".
pub type Lifetime = Option<Duration>;

/// Past this, `now - lifetime` leaves the calendar the database can store.
const MAX_LIFETIME: Duration = Duration::from_secs(1000 * 365 * 24 * 3600);

fn parse_lifetime(text: &str) -> Result<Lifetime, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let lifetime = humantime::parse_duration(text)
        .map_err(|e| format!("{e} (expected a duration such as 1h, 30min, 7days, or none)"))?;
    if lifetime.is_zero() {
        return Err(
            "a zero lifetime would expire every token at once; use none for no expiry".into()
        );
    }
    if lifetime > MAX_LIFETIME {
        return Err("a lifetime over 1000 years cannot be computed with; use none".into());
    }
    Ok(Some(lifetime))
}

/// `--expires-in`: a duration, never `none` (a token of its own lifetime has one).
fn parse_expires_in(text: &str) -> Result<std::time::Duration, String> {
    parse_lifetime(text)?.ok_or_else(|| "--expires-in takes a duration such as 90d".to_owned())
}

/// The user id types the token table's `user_id` can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UserIdType {
    /// A UUID (native on PostgreSQL, `binary(16)` on MySQL, a blob on SQLite).
    Uuid,
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
    /// Text (also a UUID kept as text, as fastapi-users does on SQLite).
    String,
    /// A MongoDB ObjectId (Beanie's users); MongoDB only.
    Objectid,
}

/// The stores the CLI can run on a SQL database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Orm {
    /// authtoken-sea-orm's store.
    SeaOrm,
    /// authtoken-diesel's store.
    Diesel,
}

/// How MongoDB documents are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MongoLayout {
    /// authtoken's own: keyed by `_id` in `access_token` (or `--table`).
    Native,
    /// fastapi-users-db-beanie's `AccessToken` collection (unless `--table` names another),
    /// the key in `token`.
    Beanie,
}

/// The storage modes, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Storage {
    /// Rows hold the SHA-256 of the token.
    Hashed,
    /// Rows hold the token itself (fastapi-users compatibility; on Redis, in fastapi-users'
    /// value format, the user id alone, unless `--redis-details`).
    Plain,
}

impl From<Storage> for StorageMode {
    fn from(storage: Storage) -> Self {
        match storage {
            Storage::Hashed => StorageMode::Hashed,
            Storage::Plain => StorageMode::Plain,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Issue a new token for a user and print it (the one time it is shown).
    Issue {
        /// The user's id.
        #[arg(long = "user")]
        user: String,
        /// A name for the token ("CI deploy"); needs the table's API-token columns.
        #[arg(long)]
        name: Option<String>,
        /// Scopes, comma-separated (`read,deploy`); needs the API-token columns.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The token's own lifetime (`90d`), instead of the application's; needs the API-token
        /// columns.
        #[arg(long, value_parser = parse_expires_in)]
        expires_in: Option<std::time::Duration>,
    },
    /// Say whether a token is valid and for whom, or why not; exit 0 if valid, 1 if not.
    Verify {
        /// The token, as the client presents it; `-` reads it from standard input (keeps it out
        /// of the process list and the shell history).
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Revoke one token, whoever owns it; exit 1 if there was no such token.
    Revoke {
        /// The token, as the client presents it; `-` reads it from standard input.
        #[arg(allow_hyphen_values = true, required_unless_present = "fingerprint")]
        token: Option<String>,
        /// Instead of the token: its fingerprint as `list` shows it (at least 6 characters), for
        /// a leak report that carries only that. An ambiguous fingerprint revokes nothing.
        #[arg(long, conflicts_with = "token", allow_hyphen_values = true)]
        fingerprint: Option<String>,
        /// With `--fingerprint`: look among this user's tokens only (needed in plain storage).
        #[arg(long = "user", requires = "fingerprint")]
        user: Option<String>,
    },
    /// Revoke every token of a user ("log out everywhere") and print how many went.
    RevokeUser {
        /// The user's id.
        user: String,
    },
    /// End a refresh-token family (one login and every refresh since, as `list` shows it):
    /// its refresh tokens stop working and its access tokens are revoked; exit 1 if there was
    /// no such live family.
    RevokeFamily {
        /// The family's id (it may begin with `-`, as base64url may).
        #[arg(allow_hyphen_values = true)]
        family: String,
    },
    /// List a user's tokens: fingerprint, created, expires. Never a token itself.
    List {
        /// The user's id.
        #[arg(long = "user")]
        user: String,
    },
    /// Delete expired tokens in batches, with a progress bar on a terminal.
    Purge {
        /// Count what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Rows per DELETE statement: smaller batches hold locks for less time.
        #[arg(long, default_value_t = std::num::NonZeroU32::new(1000).unwrap())]
        batch_size: std::num::NonZeroU32,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_database_is_the_migration_clis() {
        assert_eq!(super::DEFAULT_DATABASE_URL, authtoken_migration::DEFAULT_DATABASE_URL);
    }
}
