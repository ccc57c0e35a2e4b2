//! `authtoken issue --user ID [--name NAME] [--scopes a,b] [--expires-in 90d]`

use anyhow::anyhow;
use authtoken::{Error, IssueOptions, User};

use crate::context::{CliStore, Context, Outcome};
use crate::display::safe;

/// The id a token is issued for: `write_token` takes a user, the CLI has only its id.
struct UserById<Id>(Id);

impl<Id: authtoken::UserId> User for UserById<Id> {
    type Id = Id;

    fn id(&self) -> &Id {
        &self.0
    }
}

/// Issues a token and prints it on stdout, alone, so it can be piped; the rest goes to stderr.
pub async fn issue<S: CliStore>(
    context: &Context<S>,
    user: &str,
    options: &IssueOptions,
) -> anyhow::Result<Outcome> {
    let user = UserById(context.user_id(user)?);
    let token = context.strategy.issue_token(&user, options).await.map_err(|e| match e {
        Error::UnknownUser => anyhow!("no user with id {}", safe(&user.0)),
        other => other.into(),
    })?;
    println!("{}", token.expose_secret());
    eprintln!("issued a token for user {}; it is shown only this once", safe(&user.0));
    Ok(Outcome::Done)
}
