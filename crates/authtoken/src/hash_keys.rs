//! Server keys for the keyed storage hash: rows hold HMAC-SHA-256(key, token) instead of a bare
//! SHA-256, so that whoever can write to the token table cannot plant a row for a token of their
//! choosing (they would need the key to compute its row).

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::Error;

type HmacSha256 = Hmac<Sha256>;

/// The shortest key accepted, in bytes: as many as the hash has.
pub const MIN_KEY_BYTES: usize = 32;

/// The keys of the keyed storage hash, newest first.
///
/// New tokens are stored under the first key; reads and logouts accept a token under any of
/// them, trying the first key first, so a token under the current key costs one lookup and only
/// a token under an older key (or an unknown one) costs more. To rotate: put the new key first,
/// keep the old ones until every token stored under them has expired, then drop them.
///
/// ```
/// use authtoken::HashKeys;
///
/// let current = [7u8; 32];   // from a secret store, never from the source code
/// let previous = [9u8; 32];
/// let keys = HashKeys::new(&current)?.with_previous(&previous)?;
/// assert_eq!(keys.len(), 2);
/// assert!(!format!("{keys:?}").contains("7, 7"), "Debug shows no key material");
/// # Ok::<(), authtoken::Error>(())
/// ```
#[derive(Clone)]
pub struct HashKeys {
    macs: Arc<[HmacSha256]>,
}

impl HashKeys {
    /// A key ring with `current` alone; shorter than [`MIN_KEY_BYTES`] is an
    /// [`Error::Config`].
    pub fn new(current: &[u8]) -> Result<Self, Error> {
        Ok(Self { macs: Arc::from([mac(current)?]) })
    }

    /// Adds an older key, still accepted on reads, after the ones already given.
    pub fn with_previous(self, previous: &[u8]) -> Result<Self, Error> {
        let mut macs = self.macs.to_vec();
        macs.push(mac(previous)?);
        Ok(Self { macs: macs.into() })
    }

    /// How many keys the ring holds.
    pub fn len(&self) -> usize {
        self.macs.len()
    }

    /// Whether the ring holds no key (never: a ring starts with its current key).
    pub fn is_empty(&self) -> bool {
        self.macs.is_empty()
    }

    /// HMAC-SHA-256 of `parts` (each length-prefixed, so no two lists give one message) under
    /// the key at `index` (0: the current one); `None` past the last key.
    pub(crate) fn tag(&self, index: usize, parts: &[&[u8]]) -> Option<[u8; 32]> {
        let mut mac = self.macs.get(index)?.clone();
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().into())
    }

    /// The keyed hashes of `token`, current key first, as 32 bytes each.
    pub(crate) fn digests<'a>(&'a self, token: &'a str) -> impl Iterator<Item = [u8; 32]> + 'a {
        self.macs.iter().map(move |mac| {
            let mut mac = mac.clone();
            mac.update(token.as_bytes());
            mac.finalize().into_bytes().into()
        })
    }
}

fn mac(key: &[u8]) -> Result<HmacSha256, Error> {
    if key.len() < MIN_KEY_BYTES {
        return Err(Error::Config("a hash key needs at least 32 bytes"));
    }
    HmacSha256::new_from_slice(key).map_err(|_| Error::Config("a hash key was refused"))
}

impl fmt::Debug for HashKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashKeys").field("keys", &self.macs.len()).finish_non_exhaustive()
    }
}
