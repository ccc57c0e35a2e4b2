//! `authtoken revoke TOKEN` and `authtoken revoke-user ID`

use authtoken::AccessTokenStore;
use authtoken_sea_orm::AccessTokenEntity;

use crate::app::{CliUserId, Context, Outcome};

/// Revokes one token, whoever owns it.
pub async fn revoke<E>(context: &Context<E>, token: &str) -> anyhow::Result<Outcome>
where
    E: AccessTokenEntity<UserId: CliUserId>,
{
    if context.strategy.revoke_token(token).await? {
        println!("revoked");
        Ok(Outcome::Done)
    } else {
        println!("nothing to revoke: unknown token");
        Ok(Outcome::No)
    }
}

/// Revokes every token of a user.
pub async fn revoke_user<E>(context: &Context<E>, user: &str) -> anyhow::Result<Outcome>
where
    E: AccessTokenEntity<UserId: CliUserId>,
{
    let id = context.user_id(user)?;
    let revoked = context.strategy.store().delete_all_of_user(&id).await?;
    println!("revoked {revoked} token(s) of user {id}");
    Ok(Outcome::Done)
}
