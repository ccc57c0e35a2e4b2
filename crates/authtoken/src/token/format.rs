//! How issued tokens look: fastapi-users' bare 43 characters (the default), or a prefixed,
//! checksummed form that secret scanners recognise and that a mistyped token fails without a
//! query, as GitHub's tokens do.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::plaintext::{PlaintextToken, TOKEN_BYTES, TOKEN_LEN, is_well_formed};
use crate::Error;

/// Length of the checksum that ends a prefixed token: the CRC32 of everything before it, in
/// base62, zero-padded (62⁶ > 2³²).
pub const CHECKSUM_LEN: usize = 6;

/// The longest prefix accepted.
pub const MAX_PREFIX_LEN: usize = 16;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The shape of the tokens a strategy issues and accepts.
///
/// - [`TokenFormat::bare`] (the default): 43 base64url characters, what fastapi-users issues.
/// - [`TokenFormat::prefixed`]: `{prefix}{43 characters}{6-character checksum}`, e.g.
///   `atk_…`. A leaked token is recognisable by its prefix, and one with a wrong checksum (a
///   typo, a truncated paste, a guess) is refused before any query. The stored key is still the
///   hash of the whole token. Tokens in the bare form keep being accepted, so switching a running
///   service to a prefix logs nobody out. Prefixed tokens need hashed storage (plain mode is for a
///   table shared with fastapi-users, whose tokens are bare).
///
/// ```
/// use authtoken::token::TokenFormat;
///
/// let format = TokenFormat::prefixed("atk_")?;
/// let token = format.mint()?;
/// assert!(token.expose_secret().starts_with("atk_"));
/// assert_eq!(token.expose_secret().len(), 4 + 43 + 6);
/// assert!(format.is_well_formed(token.expose_secret()));
///
/// // One character off and the checksum no longer matches.
/// let mut typo = token.into_secret();
/// let last = typo.pop().unwrap();
/// typo.push(if last == 'a' { 'b' } else { 'a' });
/// assert!(!format.is_well_formed(&typo));
/// # Ok::<(), authtoken::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenFormat {
    prefix: Option<Arc<str>>,
}

impl TokenFormat {
    /// 43 base64url characters, as fastapi-users issues them.
    pub fn bare() -> Self {
        Self::default()
    }

    /// `prefix`, then 43 base64url characters, then a 6-character base62 CRC32 of both. The
    /// prefix is 1 to 16 ASCII letters, digits or `_` (end it with `_` to keep it readable).
    pub fn prefixed(prefix: &str) -> Result<Self, Error> {
        let valid = !prefix.is_empty()
            && prefix.len() <= MAX_PREFIX_LEN
            && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(Error::Config(
                "a token prefix is 1 to 16 ASCII letters, digits or underscores",
            ));
        }
        Ok(Self { prefix: Some(Arc::from(prefix)) })
    }

    /// The prefix, for a prefixed format.
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// Mints a new token in this format.
    pub fn mint(&self) -> Result<PlaintextToken, Error> {
        Ok(self.wrap(PlaintextToken::generate()?))
    }

    /// A token of this format whose 32 bytes are `bytes` (a bound token's, see `row_binding`).
    pub(crate) fn mint_from(&self, bytes: &[u8; TOKEN_BYTES]) -> PlaintextToken {
        self.wrap(PlaintextToken::from_secret(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The 32 bytes of a well-formed token of this format (bare or prefixed).
    pub(crate) fn body_bytes(&self, token: &str) -> Option<[u8; TOKEN_BYTES]> {
        let body = match &self.prefix {
            Some(prefix) if token.len() != TOKEN_LEN => {
                token.strip_prefix(&**prefix)?.get(..TOKEN_LEN)?
            }
            _ => token,
        };
        let mut bytes = [0u8; TOKEN_BYTES];
        let decoded = URL_SAFE_NO_PAD.decode_slice(body, &mut bytes).ok()?;
        (decoded == bytes.len()).then_some(bytes)
    }

    /// `body` with this format's prefix and checksum around it.
    fn wrap(&self, body: PlaintextToken) -> PlaintextToken {
        let Some(prefix) = &self.prefix else { return body };
        let mut token = String::with_capacity(prefix.len() + TOKEN_LEN + CHECKSUM_LEN);
        token.push_str(prefix);
        token.push_str(body.expose_secret());
        let checksum = checksum(token.as_bytes());
        token.push_str(std::str::from_utf8(&checksum).expect("base62 is ASCII"));
        PlaintextToken::from_secret(token)
    }

    /// Whether `candidate` can be a token of this format: a bare token always; with a prefix,
    /// the prefix, a well-formed body and the matching checksum. Anything else is refused
    /// without a query.
    pub fn is_well_formed(&self, candidate: &str) -> bool {
        if is_well_formed(candidate) {
            return true;
        }
        let Some(prefix) = &self.prefix else { return false };
        let Some(rest) = candidate.strip_prefix(&**prefix) else { return false };
        if rest.len() != TOKEN_LEN + CHECKSUM_LEN || !rest.is_char_boundary(TOKEN_LEN) {
            return false;
        }
        let (body, sum) = rest.split_at(TOKEN_LEN);
        let signed = &candidate.as_bytes()[..prefix.len() + TOKEN_LEN];
        is_well_formed(body) && sum.as_bytes() == checksum(signed)
    }

    /// Whether tokens of this format fit plain storage (the bare form only).
    pub(crate) fn is_bare(&self) -> bool {
        self.prefix.is_none()
    }
}

/// The CRC32 of `signed` in base62, zero-padded to [`CHECKSUM_LEN`] characters.
fn checksum(signed: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut value = crc32fast::hash(signed);
    let mut text = [b'0'; CHECKSUM_LEN];
    for slot in text.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_base62_crc32() {
        // CRC32("123456789") = 0xCBF43926 = 3421780262, the standard check value.
        assert_eq!(checksum(b"123456789"), *b"3jZRME");
        assert_eq!(checksum(b""), *b"000000");
    }

    #[test]
    fn prefixes_are_checked() {
        for bad in ["", "with space", "ünï_", "a-b", "seventeen_chars__"] {
            assert!(TokenFormat::prefixed(bad).is_err(), "{bad:?}");
        }
        assert_eq!(TokenFormat::prefixed("atk_").unwrap().prefix(), Some("atk_"));
        assert_eq!(TokenFormat::bare().prefix(), None);
    }

    #[test]
    fn prefixed_tokens_round_trip_and_every_alteration_fails() {
        let format = TokenFormat::prefixed("atk_").unwrap();
        let token = format.mint().unwrap().into_secret();
        assert!(format.is_well_formed(&token));
        // Any one character changed, anywhere: the checksum (or the prefix) no longer matches.
        for (i, _) in token.char_indices() {
            let mut altered = token.clone().into_bytes();
            altered[i] = if altered[i] == b'x' { b'y' } else { b'x' };
            let altered = String::from_utf8(altered).unwrap();
            assert!(!format.is_well_formed(&altered), "position {i}");
        }
        assert!(!format.is_well_formed(&token[..token.len() - 1]));
        assert!(!format.is_well_formed(&format!("{token}0")));
        assert!(!TokenFormat::prefixed("xyz_").unwrap().is_well_formed(&token));
        assert!(!TokenFormat::bare().is_well_formed(&token));
        // Bare tokens stay valid in both formats.
        let bare = TokenFormat::bare().mint().unwrap().into_secret();
        assert!(format.is_well_formed(&bare) && TokenFormat::bare().is_well_formed(&bare));
        // Multi-byte text never panics the check.
        assert!(!format.is_well_formed(&format!("atk_{}", "é".repeat(24))));
    }
}
