//! `authtoken revoke TOKEN` and `authtoken revoke-user ID`

use crate::app::{CliStore, Context, Outcome};

/// Revokes one token, whoever owns it.
pub async fn revoke<S: CliStore>(context: &Context<S>, token: &str) -> anyhow::Result<Outcome> {
    if context.strategy.revoke_token(token).await? {
        println!("revoked");
        Ok(Outcome::Done)
    } else {
        println!("nothing to revoke: unknown token");
        Ok(Outcome::No)
    }
}

/// Revokes every token of a user.
pub async fn revoke_user<S: CliStore>(context: &Context<S>, user: &str) -> anyhow::Result<Outcome> {
    let id = context.user_id(user)?;
    let revoked = context.strategy.store().delete_all_of_user(&id).await?;
    println!("revoked {revoked} token(s) of user {id}");
    Ok(Outcome::Done)
}
