//! Rows bound to their tokens: with a server key, a token carries a MAC of its row's fields, so a
//! row rewritten by hand (another `user_id`, an older `created_at`, a later `expires_at`, more
//! scopes) no longer matches the token that finds it.
//!
//! The 32 bytes of a bound token are 24 random bytes and the first 8 bytes of
//! HMAC-SHA-256(key, 24 random bytes, user id, created_at, expiry, scopes), under the key whose
//! keyed hash is the row's key. Its shape is any token's (43 base64url characters), so no store,
//! column or migration changes: every store binds its rows alike. 192 random bits stay far out of
//! a guesser's reach; forging a row's tag takes the key.

use chrono::{DateTime, Utc};

use crate::hash_keys::HashKeys;
use crate::refresh::RefreshRow;
use crate::store::AccessToken;
use crate::token::TOKEN_BYTES;

/// The random part of a bound token.
pub(crate) const RANDOM_BYTES: usize = 24;

/// The tag's part of a bound token.
const TAG_BYTES: usize = TOKEN_BYTES - RANDOM_BYTES;

/// What the tag says of a row's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoundExpiry {
    /// Sliding expiry moves it: bound instead by the cap, checked on every read.
    Sliding,
    /// Fixed when the token was issued (`None`: the strategy's lifetime, no expiry of its own).
    Fixed(Option<DateTime<Utc>>),
}

/// The fields a tag covers, in the forms every store keeps exactly: whole seconds (MongoDB keeps
/// milliseconds, SQL microseconds), the user id as `Debug` prints it.
fn fields<Id: std::fmt::Debug>(row: &AccessToken<Id>, expiry: BoundExpiry) -> [Vec<u8>; 4] {
    let expiry = match expiry {
        BoundExpiry::Sliding => b"sliding".to_vec(),
        BoundExpiry::Fixed(None) => b"lifetime".to_vec(),
        BoundExpiry::Fixed(Some(at)) => at.timestamp().to_string().into_bytes(),
    };
    [
        format!("{:?}", row.user_id).into_bytes(),
        row.created_at.timestamp().to_string().into_bytes(),
        expiry,
        row.details.scopes.join(" ").into_bytes(),
    ]
}

fn tag<Id: std::fmt::Debug>(
    keys: &HashKeys,
    index: usize,
    random: &[u8],
    row: &AccessToken<Id>,
    expiry: BoundExpiry,
) -> Option<[u8; TAG_BYTES]> {
    let [user, created, expiry, scopes] = fields(row, expiry);
    truncated(keys.tag(index, &[b"authtoken-row-v1", random, &user, &created, &expiry, &scopes])?)
}

fn truncated(mac: [u8; 32]) -> Option<[u8; TAG_BYTES]> {
    let mut tag = [0u8; TAG_BYTES];
    tag.copy_from_slice(&mac[..TAG_BYTES]);
    Some(tag)
}

/// A refresh token's tag: its family, owner, the family's start and its own issue (whole
/// seconds), so that a refresh row rewritten by hand (moved to another user, made younger)
/// mints nothing.
fn refresh_tag<Id: std::fmt::Debug>(
    keys: &HashKeys,
    index: usize,
    random: &[u8],
    row: &RefreshRow<Id>,
) -> Option<[u8; TAG_BYTES]> {
    let user = format!("{:?}", row.user_id).into_bytes();
    let started = row.family_started_at.timestamp().to_string().into_bytes();
    let issued = row.issued_at.timestamp().to_string().into_bytes();
    let parts: [&[u8]; 6] =
        [b"authtoken-refresh-v1", random, row.family.as_bytes(), &user, &started, &issued];
    truncated(keys.tag(index, &parts)?)
}

/// The 32 bytes of a new refresh token bound to `row` under the current key.
pub(crate) fn bound_refresh_bytes<Id: std::fmt::Debug>(
    keys: &HashKeys,
    random: [u8; RANDOM_BYTES],
    row: &RefreshRow<Id>,
) -> [u8; TOKEN_BYTES] {
    joined(random, refresh_tag(keys, 0, &random, row))
}

/// Whether a refresh token's bytes carry the tag of `row` under the key at `index` (in
/// constant time).
pub(crate) fn refresh_matches<Id: std::fmt::Debug>(
    keys: &HashKeys,
    index: usize,
    token_bytes: &[u8; TOKEN_BYTES],
    row: &RefreshRow<Id>,
) -> bool {
    let (random, presented) = token_bytes.split_at(RANDOM_BYTES);
    same_tag(refresh_tag(keys, index, random, row), presented)
}

/// The 32 bytes of a new token bound to `row` under the current key.
pub(crate) fn bound_token_bytes<Id: std::fmt::Debug>(
    keys: &HashKeys,
    random: [u8; RANDOM_BYTES],
    row: &AccessToken<Id>,
    expiry: BoundExpiry,
) -> [u8; TOKEN_BYTES] {
    joined(random, tag(keys, 0, &random, row, expiry))
}

/// A token's 32 bytes: `random`, then `tag` (a ring always has its current key, index 0, so the
/// tag is there).
fn joined(random: [u8; RANDOM_BYTES], tag: Option<[u8; TAG_BYTES]>) -> [u8; TOKEN_BYTES] {
    let mut bytes = [0u8; TOKEN_BYTES];
    bytes[..RANDOM_BYTES].copy_from_slice(&random);
    bytes[RANDOM_BYTES..].copy_from_slice(&tag.unwrap_or_default());
    bytes
}

/// Whether `presented` is the `expected` tag, compared in constant time: the tag is a secret's
/// output.
fn same_tag(expected: Option<[u8; TAG_BYTES]>, presented: &[u8]) -> bool {
    let Some(expected) = expected else { return false };
    let difference = expected.iter().zip(presented).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    difference == 0
}

/// Whether the token's bytes carry the tag of `row` under the key at `index`. Compared in
/// constant time: the tag is a secret's output.
pub(crate) fn matches<Id: std::fmt::Debug>(
    keys: &HashKeys,
    index: usize,
    token_bytes: &[u8; TOKEN_BYTES],
    row: &AccessToken<Id>,
    expiry: BoundExpiry,
) -> bool {
    let (random, presented) = token_bytes.split_at(RANDOM_BYTES);
    same_tag(tag(keys, index, random, row, expiry), presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user: u64, created: i64) -> AccessToken<u64> {
        AccessToken::new("key".to_owned(), user, DateTime::from_timestamp(created, 0).unwrap())
    }

    #[test]
    fn a_rewritten_field_breaks_the_tag() {
        let keys = HashKeys::new(&[7u8; 32]).unwrap().with_previous(&[9u8; 32]).unwrap();
        let issued = row(1, 1_800_000_000);
        let expiry = BoundExpiry::Fixed(None);
        let bytes = bound_token_bytes(&keys, [3u8; RANDOM_BYTES], &issued, expiry);
        assert!(matches(&keys, 0, &bytes, &issued, expiry));
        assert!(!matches(&keys, 1, &bytes, &issued, expiry), "another key");
        assert!(!matches(&keys, 0, &bytes, &row(2, 1_800_000_000), expiry), "another user");
        assert!(!matches(&keys, 0, &bytes, &row(1, 1_700_000_000), expiry), "created earlier");
        let later = BoundExpiry::Fixed(DateTime::from_timestamp(4_000_000_000, 0));
        assert!(!matches(&keys, 0, &bytes, &issued, later), "an expiry of its own");
        let mut scoped = issued.clone();
        scoped.details.scopes = vec!["admin".to_owned()];
        assert!(!matches(&keys, 0, &bytes, &scoped, expiry), "more scopes");
        // Within the second it was created in, the stores' precisions all agree.
        let mut precise = issued.clone();
        precise.created_at += chrono::TimeDelta::microseconds(123_456);
        assert!(matches(&keys, 0, &bytes, &precise, expiry));
        assert!(!matches(&keys, 2, &bytes, &issued, expiry), "no such key");
    }

    #[test]
    fn a_rewritten_refresh_row_breaks_its_tag() {
        let keys = HashKeys::new(&[7u8; 32]).unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let issued = RefreshRow {
            key: "key".to_owned(),
            family: "family".to_owned(),
            user_id: 1u64,
            family_started_at: at,
            issued_at: at,
            access_key: "access".to_owned(),
            spent_at: None,
        };
        let bytes = bound_refresh_bytes(&keys, [5u8; RANDOM_BYTES], &issued);
        assert!(refresh_matches(&keys, 0, &bytes, &issued));
        let later = at + chrono::TimeDelta::seconds(60);
        for (what, rewritten) in [
            ("another user", RefreshRow { user_id: 2, ..issued.clone() }),
            ("another family", RefreshRow { family: "other".to_owned(), ..issued.clone() }),
            ("a later start", RefreshRow { family_started_at: later, ..issued.clone() }),
            ("a later issue", RefreshRow { issued_at: later, ..issued.clone() }),
        ] {
            assert!(!refresh_matches(&keys, 0, &bytes, &rewritten), "{what}");
        }
        // Spending it changes nothing the tag covers.
        let spent = RefreshRow { spent_at: Some(later), ..issued.clone() };
        assert!(refresh_matches(&keys, 0, &bytes, &spent));
    }
}
