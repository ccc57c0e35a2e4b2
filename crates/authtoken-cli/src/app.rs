//! From the command line to a store: the URL's secrets checked, its store chosen by scheme
//! ([`Backend::for_url`]), the command run there.

use crate::args::{Cli, UserIdType};
use crate::backends::Backend;
use crate::context::Outcome;
use crate::{connect, secret_file};

/// Runs the command on the table the options describe.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // Here, not where the file is read: `main` reads it too, for the secrets to scrub.
    if let Some(path) = &cli.table.database_url_file {
        secret_file::warn_if_shared(path);
    }
    let url = connect::database_url(&cli.table)?;
    connect::check(&url, cli.table.allow_plaintext)?;
    if cli.table.user_id_type == UserIdType::Objectid && !connect::is_mongodb(&url) {
        anyhow::bail!("--user-id-type objectid is for MongoDB (a mongodb:// URL)");
    }
    Backend::for_url(&url, cli.table.orm)?.run(&url, &cli.table, cli.command).await
}
