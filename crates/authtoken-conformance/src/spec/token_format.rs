//! The prefixed, checksummed token format ([`TokenFormat::prefixed`]): issued and read back on
//! every store, stored as the hash of the whole token, and refused before any query when the
//! checksum does not match.

use authtoken::token::{CHECKSUM_LEN, TOKEN_LEN, TokenFormat};
use authtoken::{Error, StorageMode, User};

use super::{Harness, LIFETIME, harness, hashed, login, reader, row_of, sha256_base64url};
use crate::Backend;

const PREFIX: &str = "atk_";

fn prefixed<B: Backend>(b: &B) -> Harness<B::Store> {
    let h = hashed(b);
    let format = TokenFormat::prefixed(PREFIX).expect("a valid prefix");
    Harness { strategy: h.strategy.with_token_format(format).expect("hashed mode"), ..h }
}

/// A prefixed token carries its prefix and checksum, authenticates its user, is stored as the
/// SHA-256 of the whole token, and logs out like any other.
pub async fn prefixed_tokens_authenticate_and_store_the_hash_of_the_whole_token<B: Backend>(b: &B) {
    let h = prefixed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    assert!(token.starts_with(PREFIX), "no prefix");
    assert_eq!(token.len(), PREFIX.len() + TOKEN_LEN + CHECKSUM_LEN);
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
    let row = row_of(&h, &token).await.expect("the row");
    assert_eq!(row.token, sha256_base64url(&token), "the key is the hash of the whole token");
    assert!(h.strategy.destroy_token(&token, &user).await.unwrap());
    assert_eq!(reader(b, &h, &token).await, None);
}

/// One character off (body or checksum), a missing or foreign prefix: refused, and the store
/// never asked.
pub async fn prefixed_token_with_a_wrong_checksum_is_refused_without_a_query<B: Backend>(b: &B) {
    let h = prefixed(b);
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let calls = h.probe.calls();
    let altered = |at: usize| {
        let mut bytes = token.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let candidates = [
        altered(PREFIX.len() + 5),
        altered(token.len() - 1),
        format!("xtk_{}", &token[PREFIX.len()..]),
        token[..token.len() - 1].to_owned(),
        format!("{token}A"),
        token[PREFIX.len()..].to_owned(),
    ];
    for candidate in &candidates {
        assert_eq!(reader(b, &h, candidate).await, None, "{candidate:?}");
        assert!(!h.strategy.destroy_token(candidate, &user).await.unwrap());
    }
    assert_eq!(h.probe.calls(), calls, "a token with a wrong checksum reached the store");
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()), "the real one still works");
}

/// Switching a running service to a prefix logs nobody out: bare tokens issued before still
/// authenticate.
pub async fn bare_tokens_still_work_under_a_prefixed_format<B: Backend>(b: &B) {
    let before = hashed(b);
    let user = b.create_user(true).await;
    let bare = login::<B, _>(&before, &user).await;
    let after = prefixed(b);
    assert_eq!(reader(b, &after, &bare).await.as_ref(), Some(user.id()));
}

/// Plain storage keeps fastapi-users' bare tokens: a prefix there is a configuration error,
/// in either order of the builder calls.
pub async fn prefixed_format_in_plain_mode_is_a_config_error<B: Backend>(b: &B) {
    let format = TokenFormat::prefixed(PREFIX).unwrap();
    let plain = harness(b, Some(LIFETIME), StorageMode::Plain);
    assert!(matches!(plain.strategy.with_token_format(format.clone()), Err(Error::Config(_))));
    let h = prefixed(b);
    let h = Harness { strategy: h.strategy.with_storage_mode(StorageMode::Plain), ..h };
    let user = b.create_user(true).await;
    assert!(matches!(h.strategy.write_token(&user).await, Err(Error::Config(_))));
}
