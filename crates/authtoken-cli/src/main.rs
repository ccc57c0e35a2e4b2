//! `authtoken`: the operator's command line for authtoken's token table.
//!
//! Exit codes: 0 done (or the token is valid), 1 a negative answer (invalid token, nothing to
//! revoke), 2 an error, always reported as one line on stderr.

mod app;
mod args;
mod backends;
mod commands;
mod connect;
mod context;
mod display;
mod secret_file;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    if cli.table.verbose {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(EnvFilter::new(
                "authtoken=debug,authtoken_sea_orm=debug,authtoken_diesel=debug,warn",
            ))
            .init();
    }
    // Every password the URL holds, in whichever form it was given: no message may show one,
    // whatever a driver put in its error text.
    let mut secrets = connect::secrets_of(&cli.table.database_url);
    if let Ok(url) = connect::database_url(&cli.table) {
        secrets.extend(connect::secrets_of(&url));
    }
    match app::run(cli).await {
        Ok(context::Outcome::Done) => ExitCode::SUCCESS,
        Ok(context::Outcome::No) => ExitCode::from(1),
        Err(error) => {
            // A driver's message may quote what the database holds (a value it could not
            // decode) or sent (the server's own text).
            let line = connect::scrub(&one_line(&error), &secrets);
            eprintln!("error: {}", display::safe(line));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, without the repeats some drivers' messages carry
/// ("pool timed out: pool timed out", or a cause that its wrapper's message already quotes).
fn one_line(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string().replace(['\n', '\r'], " ");
        if !text.contains(cause.trim_end_matches('.')) {
            text = if text.is_empty() { cause } else { format!("{text}: {cause}") };
        }
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split(": ") {
        if parts.last().map(|last| last.trim_end_matches('.')) != Some(part.trim_end_matches('.')) {
            parts.push(part);
        }
    }
    parts.join(": ")
}
