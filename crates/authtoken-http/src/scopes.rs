//! Scope requirements on routes: the token's scopes (API tokens, see
//! [`authtoken::IssueOptions::scopes`]) must include every scope a route asks for.

use crate::{AuthRejection, Authenticated};

/// The scopes a route requires, as a type (like a [`Policy`](crate::Policy)), for the
/// adapters' `Scoped` extractors.
///
/// ```
/// use authtoken_http::Scopes;
///
/// struct Deploy;
/// impl Scopes for Deploy {
///     const REQUIRED: &'static [&'static str] = &["deploy"];
/// }
/// assert!(Deploy::check(&["read".to_owned(), "deploy".to_owned()]).is_ok());
/// assert!(Deploy::check(&["read".to_owned()]).is_err());
/// ```
pub trait Scopes: Send + Sync + 'static {
    /// Every scope the token must carry.
    const REQUIRED: &'static [&'static str];

    /// `Err(InsufficientScope)` unless `granted` holds every required scope. A token without
    /// scopes (a login session) has none: it is refused, never granted.
    fn check(granted: &[String]) -> Result<(), AuthRejection> {
        let missing = Self::REQUIRED.iter().any(|needed| !granted.iter().any(|g| g == needed));
        if missing {
            return Err(AuthRejection::InsufficientScope(
                Self::REQUIRED.iter().map(|s| (*s).to_owned()).collect(),
            ));
        }
        Ok(())
    }
}

/// The scope requirement of a route that any token may use, API tokens of any scope included:
/// the per-route opt-in (a route that declares no scope refuses scoped tokens).
///
/// ```
/// use authtoken_http::{AnyScope, Scopes};
/// assert!(AnyScope::check(&[]).is_ok());
/// assert!(AnyScope::check(&["read".to_owned()]).is_ok());
/// ```
pub struct AnyScope;

impl Scopes for AnyScope {
    const REQUIRED: &'static [&'static str] = &[];
}

impl<U> Authenticated<U> {
    /// Whether the token carries every scope in `required`.
    pub fn has_scopes(&self, required: &[&str]) -> bool {
        required.iter().all(|needed| self.scopes.iter().any(|g| g == needed))
    }
}
