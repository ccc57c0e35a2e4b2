//! `authtoken verify TOKEN`

use authtoken::TokenStatus;

use super::{expiry, when};
use crate::context::{CliStore, Context, Outcome};
use crate::display::safe;

/// Says whether the token is valid and for whom, or why not.
pub async fn verify<S: CliStore>(context: &Context<S>, token: &str) -> anyhow::Result<Outcome> {
    let strategy = &context.strategy;
    let status = strategy.inspect_token(token).await?;
    // Without --lifetime only a row with its own expiry can be judged: taking "never expires"
    // for the others would report expired tokens as valid.
    let row = match &status {
        TokenStatus::Valid(row) | TokenStatus::Expired(row) => Some(row),
        _ => None,
    };
    if !context.lifetime_known && row.is_some_and(|row| row.details.expires_at.is_none()) {
        anyhow::bail!(
            "verify needs --lifetime (or AUTHTOKEN_LIFETIME) for this token, which has no expiry \
             of its own: the tokens' lifetime, such as 1h, or none if they never expire"
        );
    }
    Ok(match status {
        TokenStatus::Valid(row) => {
            let expires = expiry(strategy.row_expires_at(&row));
            println!(
                "valid: user {}, created {}, expires {expires}",
                safe(&row.user_id),
                when(row.created_at)
            );
            Outcome::Done
        }
        TokenStatus::Expired(row) => {
            let expired = expiry(strategy.row_expires_at(&row));
            println!(
                "invalid: expired at {expired} (user {}, created {})",
                safe(&row.user_id),
                when(row.created_at)
            );
            Outcome::No
        }
        TokenStatus::Tampered(row) => {
            println!(
                "invalid: the token's row was written by hand (dated in the future, or not \
                 matching the token's tag) (user {}, created {})",
                safe(&row.user_id),
                when(row.created_at)
            );
            Outcome::No
        }
        TokenStatus::Unknown => {
            println!("invalid: unknown token (never issued, revoked, or purged)");
            context.hint_if_keys_may_be_missing();
            Outcome::No
        }
        TokenStatus::Malformed => {
            println!("invalid: not a token (a token is 43 characters of A-Z a-z 0-9 - _)");
            Outcome::No
        }
    })
}
