//! `authtoken list --user ID`

use authtoken::SessionId;
use authtoken::token::fingerprint;

use super::{expiry, when};
use crate::context::{CliStore, Context, Outcome};
use crate::display::safe;

/// Prints a user's tokens, oldest first: a fingerprint (never the token), the session id the
/// user's sessions page shows, created, expires, and where the table has the API-token columns,
/// name, scopes and last use; where the store keeps refresh tokens, the family (login) each
/// token was issued in (`revoke-family` ends one); where it has the client's columns, the
/// address and user agent on a line of their own.
pub async fn list<S: CliStore>(context: &Context<S>, user: &str) -> anyhow::Result<Outcome> {
    let id = context.user_id(user)?;
    let strategy = &context.strategy;
    let rows = strategy.store().list_of_user(&id).await?;
    let details = strategy.store().columns().name;
    let client = strategy.store().columns().client;
    // Each token's refresh family, where the store keeps refresh tokens.
    let mut families = Vec::with_capacity(rows.len());
    if let Some(refresh) = &context.refresh {
        for row in &rows {
            families.push(refresh.family_of_access(&row.token).await?);
        }
    }
    let shows_families = context.refresh.is_some();
    let mut header = format!(
        "{:<10} {:<22} {:<21} {:<21} {:<8}",
        "TOKEN", "SESSION", "CREATED", "EXPIRES", "STATUS"
    );
    if shows_families {
        header.push_str(&format!(" {:<22}", "FAMILY"));
    }
    if details {
        header.push_str(&format!(" {:<21} {:<24} SCOPES", "LAST USED", "NAME"));
    }
    println!("{}", header.trim_end());
    // Every text from a row goes through `safe`; the times are chrono's own formatting.
    for (index, row) in rows.iter().enumerate() {
        let live = strategy.is_live(row);
        let mut line = format!(
            "{:<10} {:<22} {:<21} {:<21} {:<8}",
            format!("{}…", safe(fingerprint(&row.token, context.mode))),
            SessionId::of_key(&row.token),
            when(row.created_at),
            expiry(strategy.row_expires_at(row)),
            if live { "live" } else { "expired" },
        );
        if shows_families {
            let family = families.get(index).cloned().flatten();
            line.push_str(&format!(" {:<22}", safe(family.as_deref().unwrap_or("-"))));
        }
        if details {
            let used = row.details.last_used_at.map_or_else(|| "never".to_owned(), when);
            let name = safe(row.details.name.as_deref().unwrap_or("-"));
            let scopes = safe(row.details.scopes.join(","));
            line.push_str(&format!(" {used:<21} {name:<24} {scopes}"));
        }
        println!("{}", line.trim_end());
        let from = [row.details.address.as_deref(), row.details.user_agent.as_deref()];
        if client && from.iter().any(Option::is_some) {
            let from: Vec<String> = from.into_iter().flatten().map(safe).collect();
            println!("{:<10} from {}", "", from.join(" · "));
        }
    }
    println!("{} token(s) of user {}", rows.len(), safe(&id));
    Ok(Outcome::Done)
}
