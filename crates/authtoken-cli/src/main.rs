//! `authtoken`: the operator's command line for authtoken's token table.
//!
//! Exit codes: 0 done (or the token is valid), 1 a negative answer (invalid token, nothing to
//! revoke), 2 an error, always reported as one line on stderr.

mod app;
mod args;
mod commands;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match app::run(cli).await {
        Ok(app::Outcome::Done) => ExitCode::SUCCESS,
        Ok(app::Outcome::No) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, without the repeats some drivers' messages carry
/// ("pool timed out: pool timed out").
fn one_line(error: &anyhow::Error) -> String {
    let text = format!("{error:#}").replace(['\n', '\r'], " ");
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split(": ") {
        if parts.last().map(|last| last.trim_end_matches('.')) != Some(part.trim_end_matches('.')) {
            parts.push(part);
        }
    }
    parts.join(": ")
}
