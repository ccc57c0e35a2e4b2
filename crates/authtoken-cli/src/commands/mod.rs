//! One file per subcommand, and the dispatch from a parsed command to it.

mod issue;
mod list;
#[cfg(any(feature = "sea-orm", feature = "diesel", feature = "mongodb"))]
mod purge;
mod revoke;
mod verify;

pub use issue::issue;
pub use list::list;
#[cfg(any(feature = "sea-orm", feature = "diesel", feature = "mongodb"))]
pub use purge::purge;
pub use revoke::{revoke, revoke_family, revoke_fingerprint, revoke_user};
pub use verify::verify;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::args::Command;
use crate::context::{CliStore, Context, Outcome};

/// A time as the CLI prints it: RFC 3339 in UTC, to the second.
fn when(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// When a token expires, or `never`.
fn expiry(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), when)
}

/// Runs the command on a store that also purges (every SQL store, MongoDB).
#[cfg(any(feature = "sea-orm", feature = "diesel", feature = "mongodb"))]
pub async fn run_purgeable<S: CliStore + authtoken::PurgeExpired>(
    context: Context<S>,
    command: Command,
) -> anyhow::Result<Outcome> {
    match command {
        Command::Purge { dry_run, batch_size } => purge(&context, dry_run, batch_size).await,
        command => run(&context, command).await,
    }
}

/// Runs one command against any store the CLI can drive.
pub async fn run<S: CliStore>(context: &Context<S>, command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Issue { user, name, scopes, expires_in } => {
            let mut options = authtoken::IssueOptions::new().scopes(scopes);
            if let Some(name) = name {
                options = options.name(name);
            }
            if let Some(lifetime) = expires_in {
                options = options.lifetime(lifetime);
            }
            issue(context, &user, &options).await
        }
        Command::Verify { token } => verify(context, &token_argument(token)?).await,
        Command::Revoke { token: Some(token), .. } => {
            revoke(context, &token_argument(token)?).await
        }
        Command::Revoke { token: None, fingerprint, user } => {
            let fingerprint = fingerprint.unwrap_or_default();
            revoke_fingerprint(context, &fingerprint, user.as_deref()).await
        }
        Command::RevokeUser { user } => revoke_user(context, &user).await,
        Command::List { user } => list(context, &user).await,
        Command::RevokeFamily { family } => revoke_family(context, &family).await,
        Command::Purge { .. } => unreachable!("purge is dispatched by run_purgeable"),
    }
}

/// A token argument; `-` reads it from standard input, so it stays out of `argv`.
fn token_argument(token: String) -> anyhow::Result<String> {
    if token != "-" {
        return Ok(token);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("cannot read the token from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
