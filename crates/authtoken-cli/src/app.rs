//! Connects, checks the table, builds the strategy for the chosen user id type, and dispatches.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use authtoken::{AccessTokenStore, DatabaseStrategy, ListTokens, PurgeExpired, StorageMode};
use authtoken_sea_orm::access_token::{by_i32, by_i64, by_string, by_uuid};
use authtoken_sea_orm::{AccessTokenEntity, SeaOrmStore};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::args::{Cli, Command, TableOptions, UserIdType};
use crate::commands;

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; or the token asked about is valid.
    Done,
    /// A negative answer: the token is not valid, or there was nothing to revoke.
    No,
}

/// What every command needs of a store: the required contract, listing and purging. The commands
/// are written against these traits only, so any store that has them can be driven.
pub trait CliStore: AccessTokenStore<UserId: CliUserId> + ListTokens + PurgeExpired {}

impl<S: AccessTokenStore<UserId: CliUserId> + ListTokens + PurgeExpired> CliStore for S {}

/// What every command works with.
pub struct Context<S: CliStore> {
    /// The strategy over the token store.
    pub strategy: DatabaseStrategy<S>,
    /// How the table keeps tokens.
    pub mode: StorageMode,
    /// `--user-id-type`, for messages.
    pub id_type: UserIdType,
}

/// The id types' requirements: parsed from the command line, printed back.
pub trait CliUserId: FromStr<Err: Display> + Display {}

impl<T: FromStr<Err: Display> + Display> CliUserId for T {}

impl<S: CliStore> Context<S> {
    /// Parses a user id given on the command line.
    pub fn user_id(&self, text: &str) -> anyhow::Result<S::UserId> {
        text.parse().map_err(|e| {
            let kind = format!("{:?}", self.id_type).to_lowercase();
            anyhow!("malformed user id `{text}` for --user-id-type {kind}: {e}")
        })
    }
}

/// Runs the command on the table the options describe.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let db = connect(&cli.table.database_url).await?;
    match cli.table.user_id_type {
        UserIdType::Uuid => run_with::<by_uuid::Entity>(db, &cli.table, cli.command).await,
        UserIdType::I32 => run_with::<by_i32::Entity>(db, &cli.table, cli.command).await,
        UserIdType::I64 => run_with::<by_i64::Entity>(db, &cli.table, cli.command).await,
        UserIdType::String => run_with::<by_string::Entity>(db, &cli.table, cli.command).await,
    }
}

async fn run_with<E>(
    db: DatabaseConnection,
    options: &TableOptions,
    command: Command,
) -> anyhow::Result<Outcome>
where
    E: AccessTokenEntity<UserId: CliUserId>,
{
    let store = SeaOrmStore::<E>::new(db).with_table(&options.table);
    store.check_table().await?;
    let mode = options.storage.into();
    let strategy = DatabaseStrategy::new(store, options.lifetime)?.with_storage_mode(mode);
    let context = Context { strategy, mode, id_type: options.user_id_type };
    dispatch(&context, command).await
}

/// Runs one command against any store the CLI can drive.
async fn dispatch<S: CliStore>(context: &Context<S>, command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Issue { user } => commands::issue(context, &user).await,
        Command::Verify { token } => commands::verify(context, &token).await,
        Command::Revoke { token } => commands::revoke(context, &token).await,
        Command::RevokeUser { user } => commands::revoke_user(context, &user).await,
        Command::List { user } => commands::list(context, &user).await,
        Command::Purge { dry_run, batch_size } => {
            commands::purge(context, dry_run, batch_size).await
        }
    }
}

async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let shown = redacted(url);
    let mut options = ConnectOptions::new(url);
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(2)
        .sqlx_logging(false);
    Database::connect(options).await.with_context(|| format!("cannot connect to {shown}"))
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "the given --database-url (not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(redacted("postgres://u:secret@db/x"), "postgres://u:***@db/x");
        assert_eq!(redacted("sqlite://a.db"), "sqlite://a.db");
        assert!(!redacted("not a url with secret").contains("secret"));
    }
}
