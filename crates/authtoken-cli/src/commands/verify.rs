//! `authtoken verify TOKEN`

use authtoken::TokenStatus;

use super::{expiry, when};
use crate::app::{CliStore, Context, Outcome};

/// Says whether the token is valid and for whom, or why not.
pub async fn verify<S: CliStore>(context: &Context<S>, token: &str) -> anyhow::Result<Outcome> {
    let strategy = &context.strategy;
    Ok(match strategy.inspect_token(token).await? {
        TokenStatus::Valid(row) => {
            let expires = expiry(strategy.row_expires_at(&row));
            println!(
                "valid: user {}, created {}, expires {expires}",
                row.user_id,
                when(row.created_at)
            );
            Outcome::Done
        }
        TokenStatus::Expired(row) => {
            let expired = expiry(strategy.row_expires_at(&row));
            println!(
                "invalid: expired at {expired} (user {}, created {})",
                row.user_id,
                when(row.created_at)
            );
            Outcome::No
        }
        TokenStatus::Unknown => {
            println!("invalid: unknown token (never issued, revoked, or purged)");
            Outcome::No
        }
        TokenStatus::Malformed => {
            println!("invalid: not a token (a token is 43 characters of A-Z a-z 0-9 - _)");
            Outcome::No
        }
    })
}
