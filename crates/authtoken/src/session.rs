//! Sessions a user can see and end: each live token of a user as a "where you're signed in" page
//! shows it, under a public id that is not the credential.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::AccessToken;

/// Characters of a [`SessionId`]: the base64url of 16 bytes, unpadded.
pub const SESSION_ID_LEN: usize = 22;

/// A session's public id: safe to show, to log and to put in a URL.
///
/// It is derived from the row's stored key by a one-way hash under a label of its own, so it is
/// neither the token nor its stored key and leads to neither: knowing it lets nobody in. Being
/// derived, it needs no column, never drifts from its row, and works on every store, a table
/// shared with fastapi-users included. 128 bits: no two sessions share one.
///
/// ```
/// use authtoken::SessionId;
///
/// assert!(SessionId::parse("AAAAAAAAAAAAAAAAAAAAAA").is_some());
/// assert!(SessionId::parse("too-short").is_none());
/// assert!(SessionId::parse("../../etc/passwd#######").is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SessionId(String);

impl SessionId {
    /// The id of the row stored under `stored_key`.
    pub fn of_key(stored_key: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"authtoken-session-v1\0");
        hash.update(stored_key.as_bytes());
        let digest = hash.finalize();
        Self(URL_SAFE_NO_PAD.encode(&digest[..16]))
    }

    /// `text` if it has the shape of a session id (22 base64url characters); `None` otherwise,
    /// so that a malformed or oversized id is refused before any query.
    pub fn parse(text: &str) -> Option<Self> {
        let shaped = text.len() == SESSION_ID_LEN
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One of a user's live sessions (a login, or an API token), as listed by
/// [`DatabaseStrategy::list_sessions`](crate::DatabaseStrategy::list_sessions). It never holds
/// the token or its stored key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The public id, for "sign out this one".
    pub id: SessionId,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was last used, as far as the store records it (last-use tracking writes at most
    /// once per interval); its creation when the store keeps no last use.
    pub last_seen_at: DateTime<Utc>,
    /// When it ends, if it does.
    pub expires_at: Option<DateTime<Utc>>,
    /// An API token's name.
    pub name: Option<String>,
    /// An API token's scopes (empty for a login session).
    pub scopes: Vec<String>,
    /// The user agent of the client that logged in (where the store keeps it).
    pub user_agent: Option<String>,
    /// That client's address, as the web layer saw it (where the store keeps it).
    pub address: Option<String>,
    /// Whether it is the session of the request that asked.
    pub current: bool,
}

impl Session {
    /// The session a live `row` stands for, ending at `expires_at`.
    pub(crate) fn of_row<Id>(
        row: AccessToken<Id>,
        expires_at: Option<DateTime<Utc>>,
        current: bool,
    ) -> Self {
        let details = row.details;
        Self {
            id: SessionId::of_key(&row.token),
            created_at: row.created_at,
            last_seen_at: details.last_used_at.unwrap_or(row.created_at).max(row.created_at),
            expires_at,
            name: details.name,
            scopes: details.scopes,
            user_agent: details.user_agent,
            address: details.address,
            current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_shaped_distinct_and_not_the_key() {
        let key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
        let id = SessionId::of_key(key);
        assert_eq!(id.as_str().len(), SESSION_ID_LEN);
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        assert!(!key.contains(id.as_str()));
        assert_ne!(id, SessionId::of_key("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdf"));
        for bad in ["", "a", &"A".repeat(23), "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA/A"] {
            assert!(SessionId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
