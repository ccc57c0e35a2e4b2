//! `authtoken list --user ID`

use authtoken::token::fingerprint;

use super::{expiry, when};
use crate::app::{CliStore, Context, Outcome};

/// Prints a user's tokens, oldest first: a fingerprint (never the token), created, expires.
pub async fn list<S: CliStore>(context: &Context<S>, user: &str) -> anyhow::Result<Outcome> {
    let id = context.user_id(user)?;
    let strategy = &context.strategy;
    let rows = strategy.store().list_of_user(&id).await?;
    println!("{:<10} {:<21} {:<21} STATUS", "TOKEN", "CREATED", "EXPIRES");
    for row in &rows {
        let live = strategy.is_live(row);
        println!(
            "{:<10} {:<21} {:<21} {}",
            format!("{}…", fingerprint(&row.token, context.mode)),
            when(row.created_at),
            expiry(strategy.row_expires_at(row)),
            if live { "live" } else { "expired" },
        );
    }
    println!("{} token(s) of user {id}", rows.len());
    Ok(Outcome::Done)
}
