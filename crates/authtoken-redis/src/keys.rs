//! Key names and the two value formats.

use std::fmt::Display;
use std::str::FromStr;

use authtoken::store::AccessToken;
use chrono::{DateTime, Utc};

/// The key of a token row.
pub(crate) fn token_key(prefix: &str, stored_key: &str) -> String {
    format!("{prefix}{stored_key}")
}

/// The key of a user's index. A stored key is base64url or hex, which has no `:`, so no token
/// key can take this form.
pub(crate) fn index_key(prefix: &str, user: &impl Display) -> String {
    format!("{prefix}user:{user}")
}

/// What a token key's value holds. Unless fixed with
/// [`RedisStore::with_value_format`](crate::RedisStore::with_value_format), it follows the
/// strategy's storage mode: plain mode (kept for fastapi-users) writes [`ValueFormat::UserIdOnly`],
/// hashed mode [`ValueFormat::Native`].
///
/// ```
/// use authtoken_redis::ValueFormat;
/// assert_eq!(ValueFormat::default(), ValueFormat::Native);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueFormat {
    /// `{created_at µs}:{user id}`: the creation time is kept, so listing and inspection show
    /// it and the strategy checks the lifetime as it does on SQL (the key's TTL as well).
    #[default]
    Native,
    /// The user id alone, as fastapi-users' `RedisStrategy` writes it: the key's TTL is the only
    /// expiry. Redis does not know when the key was written, so a token read back carries as
    /// its `created_at` the time its remaining TTL implies under the strategy's lifetime (one
    /// pipelined `PTTL` beside the `GET`): the lifetime check then ends it exactly when Redis
    /// drops the key, a cache in front included. Listings show the time they were read.
    UserIdOnly,
}

impl ValueFormat {
    /// The argument the owner-checked delete script reads.
    pub(crate) fn script_flag(self) -> &'static str {
        match self {
            ValueFormat::Native => "native",
            ValueFormat::UserIdOnly => "user-id",
        }
    }

    /// The value written for a token of `user` created at `created_at`.
    pub(crate) fn value(self, created_at: DateTime<Utc>, user: &impl Display) -> String {
        match self {
            ValueFormat::Native => format!("{}:{user}", created_at.timestamp_micros()),
            ValueFormat::UserIdOnly => user.to_string(),
        }
    }

    /// The row a value stands for, or `None` for a value not in this format. Each format reads
    /// only its own: a user id with a `:` in it must never be split into a time and another id.
    pub(crate) fn row<Id: FromStr>(
        self,
        stored_key: &str,
        value: &str,
        read_at: DateTime<Utc>,
    ) -> Option<AccessToken<Id>> {
        let (created_at, user) = match self {
            ValueFormat::Native => {
                let (micros, user) = value.split_once(':')?;
                if micros.is_empty() || !micros.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?, user)
            }
            ValueFormat::UserIdOnly => (read_at, value),
        };
        Some(AccessToken::new(stored_key.to_owned(), user.parse().ok()?, created_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_micros(1_767_268_800_123_456).unwrap()
    }

    #[test]
    fn native_values_round_trip() {
        let native = ValueFormat::Native;
        let text = native.value(at(), &42u64);
        assert_eq!(text, "1767268800123456:42");
        let back: AccessToken<u64> = native.row("k", &text, Utc::now()).unwrap();
        assert_eq!((back.user_id, back.created_at), (42, at()));
        assert!(native.row::<u64>("k", "garbage", at()).is_none());
        assert!(native.row::<u64>("k", "12:notanumber", at()).is_none());
        assert!(native.row::<u64>("k", "+12:3", at()).is_none());
        assert!(native.row::<u64>("k", "42", at()).is_none(), "a bare id is not a native value");
        let uuid = "1767268800123456:67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert!(native.row::<String>("k", uuid, at()).is_some());
    }

    #[test]
    fn user_id_values_are_the_id_alone_and_never_split() {
        let bare = ValueFormat::UserIdOnly;
        assert_eq!(bare.value(at(), &42u64), "42");
        let back: AccessToken<u64> = bare.row("k", "42", at()).unwrap();
        assert_eq!((back.user_id, back.created_at), (42, at()));
        // A string id that looks like a native value stays one id.
        let back: AccessToken<String> = bare.row("k", "12:admin", at()).unwrap();
        assert_eq!(back.user_id, "12:admin");
        assert!(bare.row::<u64>("k", "1767268800123456:42", at()).is_none());
    }
}
