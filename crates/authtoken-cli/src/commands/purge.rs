//! `authtoken purge [--dry-run] [--batch-size N]`

use std::io::IsTerminal;
use std::num::NonZeroU32;
use std::time::Instant;

use anyhow::anyhow;
use authtoken::PurgeExpired;
use indicatif::{ProgressBar, ProgressStyle};

use super::when;
use crate::context::{CliStore, Context, Outcome};

/// Deletes expired rows in batches: a progress bar on a terminal, a line per batch otherwise.
pub async fn purge<S: CliStore + PurgeExpired>(
    context: &Context<S>,
    dry_run: bool,
    batch_size: NonZeroU32,
) -> anyhow::Result<Outcome> {
    let strategy = &context.strategy;
    let cutoff = strategy
        .created_since()
        .ok_or_else(|| anyhow!("purge needs --lifetime: without one, no token ever expires"))?;
    let expired = strategy.store().count_expired(strategy.now(), cutoff).await?;
    if dry_run {
        println!("{expired} expired token(s) created before {} would be purged", when(cutoff));
        return Ok(Outcome::Done);
    }

    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal { ProgressBar::new(expired) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} expired tokens purged ({per_sec}, {eta} left)",
        )
        .expect("a valid progress template"),
    );
    let mut done = 0;
    let purged = strategy
        .purge_expired_with_progress(batch_size, |deleted| {
            done += deleted;
            bar.inc(deleted);
            if !terminal {
                eprintln!("purged {done}/{expired}");
            }
        })
        .await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "purged {purged} expired token(s) created before {} in {seconds:.2}s ({:.0}/s, batches of {batch_size})",
        when(cutoff),
        purged as f64 / seconds.max(1e-9),
    );
    Ok(Outcome::Done)
}
