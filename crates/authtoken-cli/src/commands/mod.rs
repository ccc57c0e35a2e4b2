//! One file per subcommand.

mod issue;
mod list;
mod purge;
mod revoke;
mod verify;

pub use issue::issue;
pub use list::list;
pub use purge::purge;
pub use revoke::{revoke, revoke_fingerprint, revoke_user};
pub use verify::verify;

use chrono::{DateTime, SecondsFormat, Utc};

/// A time as the CLI prints it: RFC 3339 in UTC, to the second.
fn when(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// When a token expires, or `never`.
fn expiry(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), when)
}
