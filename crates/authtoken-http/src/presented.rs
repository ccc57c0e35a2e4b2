//! [`PresentedToken`]: a token as a request carried it, never printed.

/// The token a request presented, as its transport found it: a live credential, so its `Debug`
/// prints `<redacted>` and it has no `Display`. Its shape is checked by the strategy, later.
///
/// ```
/// use authtoken_http::PresentedToken;
///
/// let token = PresentedToken::new("s3cr3t".to_owned());
/// assert_eq!(token.expose_secret(), "s3cr3t");
/// assert_eq!(format!("{token:?}"), "PresentedToken(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedToken(String);

impl PresentedToken {
    /// Wraps what a request carried.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself: for the strategy (a read, a logout), never for a log line.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresentedToken(<redacted>)")
    }
}
