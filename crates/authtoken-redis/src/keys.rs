//! Key names and the value format.

use std::fmt::Display;
use std::str::FromStr;

use authtoken::store::AccessToken;
use chrono::{DateTime, Utc};

/// The key of a token row.
pub(crate) fn token_key(prefix: &str, stored_key: &str) -> String {
    format!("{prefix}{stored_key}")
}

/// The key of a user's index. A stored key is base64url, which has no `:`, so no token key can
/// take this form.
pub(crate) fn index_key(prefix: &str, user: &impl Display) -> String {
    format!("{prefix}user:{user}")
}

/// `{created_at µs}:{user id}`.
pub(crate) fn value(created_at: DateTime<Utc>, user: &impl Display) -> String {
    format!("{}:{user}", created_at.timestamp_micros())
}

/// The row a value stands for, or `None` for a value this store did not write.
pub(crate) fn row<Id: FromStr>(stored_key: &str, value: &str) -> Option<AccessToken<Id>> {
    let (micros, user) = value.split_once(':')?;
    let created_at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
    Some(AccessToken { token: stored_key.to_owned(), user_id: user.parse().ok()?, created_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let at = DateTime::<Utc>::from_timestamp_micros(1_767_268_800_123_456).unwrap();
        let text = value(at, &42u64);
        assert_eq!(text, "1767268800123456:42");
        let back: AccessToken<u64> = row("k", &text).unwrap();
        assert_eq!((back.user_id, back.created_at), (42, at));
        assert!(row::<u64>("k", "garbage").is_none());
        assert!(row::<u64>("k", "12:notanumber").is_none());
        let uuid = "1767268800123456:67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert!(row::<String>("k", uuid).is_some());
    }
}
