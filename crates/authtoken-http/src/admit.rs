//! Authenticating a request once, then applying the route's policy: what every framework
//! adapter's extractors do, in one place.

use http::HeaderMap;

use crate::{AuthRejection, AuthUser, Authenticated, Authenticator, Policy};

/// Where a request keeps the answer of its first authentication, so that a second extractor on
/// the same request does not ask the store again: the framework's request extensions.
///
/// A failure is never kept: the next extractor asks again, and fails again or recovers.
pub trait RequestMemo<U> {
    /// The answer kept for this request, if it was authenticated already (`Some(None)`: it was,
    /// and carried no accepted token).
    fn recall(&self) -> Option<Option<Authenticated<U>>>;

    /// Keeps the answer for the rest of the request.
    fn remember(&mut self, found: Option<Authenticated<U>>);
}

impl<U: AuthUser> Authenticator<U> {
    /// The request's user under policy `P`, authenticating the request at most once (through
    /// `memo`): 401 ([`AuthRejection::Unauthorized`]) without an accepted token, the policy's
    /// refusal, or a store failure as [`AuthRejection::Failed`].
    ///
    /// `unscoped`: the route declares no scope, so a scoped token is refused unless its backend
    /// accepts scoped tokens everywhere.
    pub async fn admit<P: Policy>(
        &self,
        headers: &HeaderMap,
        memo: &mut impl RequestMemo<U>,
        unscoped: bool,
    ) -> Result<Authenticated<U>, AuthRejection> {
        let found = match memo.recall() {
            Some(found) => found,
            None => {
                let found = self.authenticate(headers).await?;
                memo.remember(found.clone());
                found
            }
        };
        let found = found.ok_or(AuthRejection::Unauthorized)?;
        match P::check(&found.user) {
            Ok(()) if unscoped => self.check_unscoped_route(&found)?,
            checked => checked?,
        }
        Ok(found)
    }
}
