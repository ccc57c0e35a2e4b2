//! `authtoken revoke TOKEN`, `authtoken revoke --fingerprint PREFIX` and `authtoken revoke-user ID`

use std::num::NonZeroU32;

use anyhow::bail;
use authtoken::StorageMode;
use authtoken::token::fingerprint;

use crate::context::{CliStore, Context, Outcome};
use crate::display::safe;

/// Revokes one token, whoever owns it.
pub async fn revoke<S: CliStore>(context: &Context<S>, token: &str) -> anyhow::Result<Outcome> {
    if context.strategy.revoke_token(token).await? {
        println!("revoked");
        Ok(Outcome::Done)
    } else {
        println!("nothing to revoke: unknown token");
        context.hint_if_keys_may_be_missing();
        Ok(Outcome::No)
    }
}

/// Revokes every token of a user.
pub async fn revoke_user<S: CliStore>(context: &Context<S>, user: &str) -> anyhow::Result<Outcome> {
    let id = context.user_id(user)?;
    let revoked = context.strategy.store().delete_all_of_user(&id).await?;
    println!("revoked {revoked} token(s) of user {}", safe(&id));
    Ok(Outcome::Done)
}

/// The shortest fingerprint prefix accepted: shorter ones match too many tokens to be a report.
const MIN_FINGERPRINT: usize = 6;

/// Revokes the one token whose fingerprint (as `list` prints it) starts with `prefix`: what a
/// leak report that carries only the fingerprint needs. Two or more matches revoke nothing.
pub async fn revoke_fingerprint<S: CliStore>(
    context: &Context<S>,
    prefix: &str,
    user: Option<&str>,
) -> anyhow::Result<Outcome> {
    let prefix = prefix.trim_end_matches('…');
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if prefix.len() < MIN_FINGERPRINT || !prefix.chars().all(base64url) {
        bail!(
            "a fingerprint is at least {MIN_FINGERPRINT} of the characters A-Z a-z 0-9 - _, as \
             `authtoken list` prints it"
        );
    }
    let store = context.strategy.store();
    let matching = match (user, context.mode) {
        (Some(user), _) => {
            let id = context.user_id(user)?;
            let rows = store.list_of_user(&id).await?;
            rows.into_iter()
                .filter(|row| fingerprint(&row.token, context.mode).starts_with(prefix))
                .collect()
        }
        // In hashed storage the fingerprint is the start of the stored key.
        (None, StorageMode::Hashed) => {
            store.list_by_key_prefix(prefix, NonZeroU32::MIN.saturating_add(1)).await?
        }
        (None, StorageMode::Plain) => bail!(
            "in plain storage a fingerprint is not the start of the stored key: add --user ID"
        ),
    };
    match matching.as_slice() {
        [] => {
            println!("nothing to revoke: no token has the fingerprint {prefix}");
            Ok(Outcome::No)
        }
        [row] => {
            store.delete(&row.token, &row.user_id).await?;
            let shown = safe(fingerprint(&row.token, context.mode));
            tracing::info!(fingerprint = %shown, "revoked a token by its fingerprint");
            println!("revoked the token {shown}… of user {}", safe(&row.user_id));
            Ok(Outcome::Done)
        }
        _ => bail!("the fingerprint {prefix} matches more than one token; give more of it"),
    }
}

/// Ends a refresh-token family: its refresh tokens stop working, its access tokens are revoked
/// (through the store's delete, which announces each to the applications' caches).
pub async fn revoke_family<S: CliStore>(
    context: &Context<S>,
    family: &str,
) -> anyhow::Result<Outcome> {
    let Some(refresh) = &context.refresh else {
        bail!("this store keeps no refresh tokens the CLI can reach");
    };
    let rows = refresh.end_family(family).await?;
    if rows.is_empty() {
        println!("nothing to revoke: no live family {}", safe(family));
        return Ok(Outcome::No);
    }
    let mut revoked = 0;
    for row in &rows {
        revoked += u64::from(context.strategy.store().delete(&row.access_key, &row.user_id).await?);
    }
    let user = &rows[0].user_id;
    println!(
        "ended family {} of user {}: {} refresh token(s), {revoked} access token(s) revoked",
        safe(family),
        safe(user),
        rows.len()
    );
    Ok(Outcome::Done)
}
