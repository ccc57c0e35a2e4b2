//! `authtoken list --user ID`

use authtoken::AccessTokenStore;
use authtoken::token::fingerprint;
use authtoken_sea_orm::AccessTokenEntity;

use super::{expiry, when};
use crate::app::{CliUserId, Context, Outcome};

/// Prints a user's tokens, oldest first: a fingerprint (never the token), created, expires.
pub async fn list<E>(context: &Context<E>, user: &str) -> anyhow::Result<Outcome>
where
    E: AccessTokenEntity<UserId: CliUserId>,
{
    let id = context.user_id(user)?;
    let strategy = &context.strategy;
    let rows = strategy.store().list_of_user(&id).await?;
    let oldest_live = strategy.not_before();
    println!("{:<10} {:<21} {:<21} STATUS", "TOKEN", "CREATED", "EXPIRES");
    for row in &rows {
        let live = oldest_live.is_none_or(|oldest| row.created_at >= oldest);
        println!(
            "{:<10} {:<21} {:<21} {}",
            format!("{}…", fingerprint(&row.token, context.mode)),
            when(row.created_at),
            expiry(strategy.expires_at(row.created_at)),
            if live { "live" } else { "expired" },
        );
    }
    println!("{} token(s) of user {id}", rows.len());
    Ok(Outcome::Done)
}
