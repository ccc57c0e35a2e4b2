//! What a token may be issued with beyond its owner: its own lifetime, a name, scopes (API
//! tokens for scripts and CI, beside login sessions).

use std::time::Duration;

use crate::ClientInfo;

/// Options for [`DatabaseStrategy::issue_token`](crate::DatabaseStrategy::issue_token). The
/// default is a plain login: the strategy's lifetime, no name, no scopes.
///
/// ```
/// use std::time::Duration;
/// use authtoken::IssueOptions;
///
/// let ci = IssueOptions::new()
///     .name("CI deploy")
///     .scopes(["deploy", "read"])
///     .lifetime(Duration::from_secs(90 * 24 * 3600));
/// assert_eq!(ci.scope_list(), ["deploy", "read"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssueOptions {
    pub(crate) lifetime: Option<Duration>,
    pub(crate) name: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) client: ClientInfo,
}

impl IssueOptions {
    /// A plain login's options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token's own lifetime instead of the strategy's (needs the `expires_at` column).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// A name for its owner to recognise it by (needs the `name` column): 1 to 255 characters,
    /// no control characters.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What the token may do (needs the `scopes` column). Each scope is a non-empty word
    /// without spaces or commas (RFC 6749 scope tokens, comma-free so they list cleanly);
    /// duplicates are dropped and the order kept.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        for scope in scopes {
            let scope = scope.into();
            if !self.scopes.contains(&scope) {
                self.scopes.push(scope);
            }
        }
        self
    }

    /// The client the token is issued to, for the user's sessions page (kept where the store
    /// has the `user_agent` and `address` columns, left out elsewhere: it grants nothing).
    pub fn client(mut self, client: ClientInfo) -> Self {
        self.client = client;
        self
    }

    /// The scopes asked for.
    pub fn scope_list(&self) -> &[String] {
        &self.scopes
    }

    /// Whether every scope is a valid scope token.
    pub(crate) fn scopes_are_valid(&self) -> bool {
        self.scopes.iter().all(|s| is_scope_token(s))
    }

    /// Whether the name fits the `name` column and prints safely.
    pub(crate) fn name_is_valid(&self) -> bool {
        self.name.as_deref().is_none_or(|name| {
            let length = name.chars().count();
            (1..=MAX_NAME_CHARS).contains(&length) && !name.chars().any(char::is_control)
        })
    }
}

/// The longest name, in characters (the `name` column is `VARCHAR(255)`).
pub const MAX_NAME_CHARS: usize = 255;

/// RFC 6749's `scope-token` (printable ASCII but space, `"` and `\`), without `,`.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 128
        && scope.bytes().all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b'"' | b'\\' | b','))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens() {
        for good in ["read", "deploy:prod", "repo.write", "a"] {
            assert!(is_scope_token(good), "{good}");
        }
        for bad in ["", "two words", "a,b", "quo\"te", "back\\slash", "é", &"x".repeat(129)] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }

    #[test]
    fn duplicate_scopes_are_dropped_in_order() {
        let options = IssueOptions::new().scopes(["b", "a", "b"]);
        assert_eq!(options.scope_list(), ["b", "a"]);
    }
}
