//! `authtoken list --user ID`

use authtoken::token::fingerprint;

use super::{expiry, when};
use crate::context::{CliStore, Context, Outcome};
use crate::display::safe;

/// Prints a user's tokens, oldest first: a fingerprint (never the token), created, expires,
/// and where the table has the API-token columns, name, scopes and last use.
pub async fn list<S: CliStore>(context: &Context<S>, user: &str) -> anyhow::Result<Outcome> {
    let id = context.user_id(user)?;
    let strategy = &context.strategy;
    let rows = strategy.store().list_of_user(&id).await?;
    let details = strategy.store().columns().name;
    let mut header = format!("{:<10} {:<21} {:<21} {:<8}", "TOKEN", "CREATED", "EXPIRES", "STATUS");
    if details {
        header.push_str(&format!(" {:<21} {:<24} SCOPES", "LAST USED", "NAME"));
    }
    println!("{}", header.trim_end());
    // Every text from a row goes through `safe`; the times are chrono's own formatting.
    for row in &rows {
        let live = strategy.is_live(row);
        let mut line = format!(
            "{:<10} {:<21} {:<21} {:<8}",
            format!("{}…", safe(fingerprint(&row.token, context.mode))),
            when(row.created_at),
            expiry(strategy.row_expires_at(row)),
            if live { "live" } else { "expired" },
        );
        if details {
            let used = row.details.last_used_at.map_or_else(|| "never".to_owned(), when);
            let name = safe(row.details.name.as_deref().unwrap_or("-"));
            let scopes = safe(row.details.scopes.join(","));
            line.push_str(&format!(" {used:<21} {name:<24} {scopes}"));
        }
        println!("{}", line.trim_end());
    }
    println!("{} token(s) of user {}", rows.len(), safe(&id));
    Ok(Outcome::Done)
}
