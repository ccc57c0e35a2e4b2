//! A token's text: minting, the shape check, and what a row stores for a token.
//!
//! A token is 32 bytes from the operating system's CSPRNG, encoded base64url without padding:
//! always 43 characters of `[A-Za-z0-9_-]`, the same as Python's `secrets.token_urlsafe()`, so a
//! table can be shared with fastapi-users in plain mode.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::Error;

/// Random bytes behind each token: 256 bits, beyond any guessing.
pub const TOKEN_BYTES: usize = 32;

/// Length of a token, and of its stored hash, in characters (base64url of 32 bytes, unpadded).
pub const TOKEN_LEN: usize = 43;

/// The plaintext of a freshly issued token: handed to its owner once, never stored (in hashed
/// mode) and never logged.
///
/// `Debug` and `Display` print `<redacted>`, and the type is deliberately not `Serialize`, so it
/// cannot leak through a log line or a response body by accident: reach for
/// [`expose_secret`](Self::expose_secret) or [`into_secret`](Self::into_secret) at the one place
/// that sends it to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct PlaintextToken(String);

impl PlaintextToken {
    /// Mints a new token from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Wraps minted token text.
    pub(crate) fn from_secret(secret: String) -> Self {
        Self(secret)
    }

    /// The token text, for the one place that hands it to its owner.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The token text, by value.
    pub fn into_secret(self) -> String {
        self.0
    }
}

impl fmt::Debug for PlaintextToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlaintextToken(<redacted>)")
    }
}

impl fmt::Display for PlaintextToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Whether `candidate` has the shape of a token this library (or fastapi-users) issues:
/// exactly 43 base64url characters that decode to 32 bytes.
///
/// Anything else cannot be a token, so the strategy answers "not authenticated" without a query.
pub fn is_well_formed(candidate: &str) -> bool {
    if candidate.len() != TOKEN_LEN {
        return false;
    }
    // Decoding also rejects the non-canonical last characters that no real token ends with.
    let mut bytes = [0u8; TOKEN_BYTES];
    matches!(URL_SAFE_NO_PAD.decode_slice(candidate, &mut bytes), Ok(TOKEN_BYTES))
}

/// How a token is kept in its row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StorageMode {
    /// The row holds base64url(SHA-256(token)): a database dump yields no usable token.
    #[default]
    Hashed,
    /// The row holds the token itself, exactly as fastapi-users stores it. Only for a table
    /// shared with a fastapi-users service: anyone who reads the table can use its tokens.
    Plain,
}

impl StorageMode {
    /// The value a row holds for `token` in this mode. The caller checks the shape first: a
    /// token shorter than [`TOKEN_LEN`] has no key.
    pub(crate) fn stored_key(self, token: &str) -> StoredKey {
        match self {
            Self::Hashed => StoredKey::hash_of(token),
            Self::Plain => StoredKey::copy_of(token),
        }
    }
}

/// A short, safe name for a row, for listings and logs: the first 8 characters of the token's
/// SHA-256 (base64url), whichever mode the row was written in. It identifies a token to an
/// operator without revealing it.
pub fn fingerprint(stored_key: &str, mode: StorageMode) -> String {
    let hashed;
    let hash = match mode {
        StorageMode::Hashed => stored_key,
        StorageMode::Plain => {
            hashed = StoredKey::hash_of(stored_key);
            hashed.as_str()
        }
    };
    hash.chars().take(8).collect()
}

/// The 43 characters a row holds for a token (its hash, or the token itself in plain mode).
///
/// Kept on the stack: computing it costs no allocation on the per-request path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredKey {
    text: [u8; TOKEN_LEN],
}

impl StoredKey {
    /// base64url(SHA-256(token)): a hashed-mode row's key (and a refresh row's).
    pub(crate) fn hash_of(token: &str) -> Self {
        Self::of_digest(Sha256::digest(token.as_bytes()).into())
    }

    /// The base64url of a 32-byte digest (a SHA-256, or an HMAC-SHA-256 under a server key).
    pub(crate) fn of_digest(digest: [u8; 32]) -> Self {
        let mut text = [0u8; TOKEN_LEN];
        let written = URL_SAFE_NO_PAD
            .encode_slice(digest, &mut text)
            .expect("43 characters hold the base64url of 32 bytes");
        debug_assert_eq!(written, TOKEN_LEN);
        Self { text }
    }

    fn copy_of(token: &str) -> Self {
        let mut text = [0u8; TOKEN_LEN];
        text.copy_from_slice(&token.as_bytes()[..TOKEN_LEN]);
        Self { text }
    }

    /// The key as text, as it stands in the `token` column.
    pub(crate) fn as_str(&self) -> &str {
        // Both constructors write base64url characters only, which are ASCII.
        std::str::from_utf8(&self.text).expect("base64url is ASCII")
    }
}

impl fmt::Debug for StoredKey {
    // In plain mode the key is the token itself: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoredKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = PlaintextToken::generate().unwrap();
        let b = PlaintextToken::generate().unwrap();
        assert!(is_well_formed(a.expose_secret()));
        assert_eq!(a.expose_secret().len(), TOKEN_LEN);
        assert_ne!(a, b);
    }

    #[test]
    fn shape_check_rejects_wrong_length_alphabet_and_padding() {
        let good = PlaintextToken::generate().unwrap().into_secret();
        assert!(is_well_formed(&good));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed(&good[..42]));
        assert!(!is_well_formed(&format!("{good}A")));
        assert!(!is_well_formed(&format!("{}+", &good[..42])));
        assert!(!is_well_formed(&format!("{}=", &good[..42])));
        assert!(!is_well_formed(&format!("{}\n", &good[..42])));
        // 'B' carries low bits a 32-byte value never has in its last character.
        assert!(!is_well_formed(&format!("{}B", &good[..42])));
        assert!(!is_well_formed(&"é".repeat(21)));
    }

    #[test]
    fn hashed_key_is_base64url_sha256() {
        // SHA-256("abc"), a published test vector, in base64url.
        let key = StorageMode::Hashed.stored_key("abc");
        assert_eq!(key.as_str(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn fingerprint_is_the_hash_prefix_in_both_modes() {
        let token = PlaintextToken::generate().unwrap();
        let hashed = StorageMode::Hashed.stored_key(token.expose_secret());
        let expected = &hashed.as_str()[..8];
        assert_eq!(fingerprint(hashed.as_str(), StorageMode::Hashed), expected);
        assert_eq!(fingerprint(token.expose_secret(), StorageMode::Plain), expected);
    }

    #[test]
    fn plain_key_is_the_token() {
        let token = PlaintextToken::generate().unwrap();
        let key = StorageMode::Plain.stored_key(token.expose_secret());
        assert_eq!(key.as_str(), token.expose_secret());
    }

    #[test]
    fn debug_and_display_redact() {
        let token = PlaintextToken::generate().unwrap();
        let secret = token.expose_secret().to_owned();
        for shown in [
            format!("{token:?}"),
            format!("{token}"),
            format!("{:?}", StorageMode::Plain.stored_key(&secret)),
        ] {
            assert!(!shown.contains(&secret), "{shown}");
        }
    }
}
