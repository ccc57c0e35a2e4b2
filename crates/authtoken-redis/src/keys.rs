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

/// What a token key's value holds: chosen with
/// [`RedisStore::with_value_format`](crate::RedisStore::with_value_format), [`ValueFormat::Native`]
/// unless chosen.
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
    /// expiry. A token read back carries the key's remaining TTL as its own expiry (one
    /// pipelined `PTTL` beside the `GET`), so the strategy, and a cache in front, end it exactly
    /// when Redis drops the key. Redis does not know when the key was written: listings show
    /// the time they were read as its creation. Meant for plain mode (keys shared with
    /// fastapi-users); bound rows (hashed mode with server keys) refuse its tokens, whose tag
    /// cannot match a read-time date.
    UserIdOnly,
    /// A JSON object with the API-token fields beside the creation time and the user:
    /// `{"c":"{created_at µs}","u":"{user id}","e":…,"n":…,"s":…,"l":…}` (`e` its own expiry,
    /// `n` its name, `s` its scopes separated by spaces, `l` its last use, `a` the client's user
    /// agent, `i` its address; times in µs, as
    /// strings so that Lua's number encoding never rounds them; absent fields are omitted).
    /// What [`RedisStore::with_details`](crate::RedisStore::with_details) writes.
    Detailed,
}

impl ValueFormat {
    /// The argument the owner-checked delete script reads.
    pub(crate) fn script_flag(self) -> &'static str {
        match self {
            ValueFormat::Native => "native",
            ValueFormat::UserIdOnly => "user-id",
            ValueFormat::Detailed => "detailed",
        }
    }

    /// The value written for `row`.
    pub(crate) fn value<Id: Display>(self, row: &AccessToken<Id>) -> String {
        let user = &row.user_id;
        match self {
            ValueFormat::Native => format!("{}:{user}", row.created_at.timestamp_micros()),
            ValueFormat::UserIdOnly => user.to_string(),
            ValueFormat::Detailed => detailed_value(row),
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
            ValueFormat::Detailed => return detailed_row(stored_key, value),
        };
        Some(AccessToken::new(stored_key.to_owned(), user.parse().ok()?, created_at))
    }
}

/// A time as the detailed format keeps it: µs since the epoch, as a string.
fn micros(at: DateTime<Utc>) -> serde_json::Value {
    serde_json::Value::String(at.timestamp_micros().to_string())
}

fn detailed_value<Id: Display>(row: &AccessToken<Id>) -> String {
    let details = &row.details;
    let mut object = serde_json::Map::new();
    object.insert("c".into(), micros(row.created_at));
    object.insert("u".into(), row.user_id.to_string().into());
    if let Some(end) = details.expires_at {
        object.insert("e".into(), micros(end));
    }
    if let Some(name) = &details.name {
        object.insert("n".into(), name.clone().into());
    }
    if !details.scopes.is_empty() {
        object.insert("s".into(), details.scopes.join(" ").into());
    }
    if let Some(used) = details.last_used_at {
        object.insert("l".into(), micros(used));
    }
    if let Some(agent) = &details.user_agent {
        object.insert("a".into(), agent.clone().into());
    }
    if let Some(address) = &details.address {
        object.insert("i".into(), address.clone().into());
    }
    serde_json::Value::Object(object).to_string()
}

/// A row from a detailed value, or `None` for anything else (a native value, garbage).
fn detailed_row<Id: FromStr>(stored_key: &str, value: &str) -> Option<AccessToken<Id>> {
    let object = serde_json::from_str::<serde_json::Value>(value).ok()?;
    let object = object.as_object()?;
    let time = |field: &str| -> Option<Option<DateTime<Utc>>> {
        match object.get(field) {
            None | Some(serde_json::Value::Null) => Some(None),
            Some(text) => {
                let text = text.as_str()?;
                let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                digits
                    .then(|| DateTime::<Utc>::from_timestamp_micros(text.parse().ok()?))?
                    .map(Some)
            }
        }
    };
    let text = |field: &str| object.get(field).and_then(serde_json::Value::as_str);
    let user = text("u")?.parse().ok()?;
    let mut row = AccessToken::new(stored_key.to_owned(), user, time("c")??);
    row.details.expires_at = time("e")?;
    row.details.last_used_at = time("l")?;
    row.details.name = text("n").map(str::to_owned);
    row.details.user_agent = text("a").map(str::to_owned);
    row.details.address = text("i").map(str::to_owned);
    row.details.scopes = text("s")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Some(row)
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
        let text = native.value(&AccessToken::new("k".to_owned(), 42u64, at()));
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
        assert_eq!(bare.value(&AccessToken::new("k".to_owned(), 42u64, at())), "42");
        let back: AccessToken<u64> = bare.row("k", "42", at()).unwrap();
        assert_eq!((back.user_id, back.created_at), (42, at()));
        // A string id that looks like a native value stays one id.
        let back: AccessToken<String> = bare.row("k", "12:admin", at()).unwrap();
        assert_eq!(back.user_id, "12:admin");
        assert!(bare.row::<u64>("k", "1767268800123456:42", at()).is_none());
    }

    #[test]
    fn detailed_values_round_trip_and_refuse_other_shapes() {
        let detailed = ValueFormat::Detailed;
        let mut row = AccessToken::new("k".to_owned(), "12:admin".to_owned(), at());
        row.details.expires_at = Some(at() + chrono::TimeDelta::days(90));
        row.details.name = Some("CI \"deploy\" — ünïcode".to_owned());
        row.details.scopes = vec!["deploy:prod".to_owned(), "read".to_owned()];
        let text = detailed.value(&row);
        assert_eq!(detailed.row::<String>("k", &text, Utc::now()), Some(row.clone()));
        let plain = AccessToken::new("k".to_owned(), 42u64, at());
        let text = detailed.value(&plain);
        assert_eq!(text, r#"{"c":"1767268800123456","u":"42"}"#);
        assert_eq!(detailed.row::<u64>("k", &text, Utc::now()), Some(plain));
        for bad in
            ["1767268800123456:42", "42", "{}", r#"{"c":"x","u":"1"}"#, r#"{"c":1,"u":"1"}"#, "[1]"]
        {
            assert!(detailed.row::<u64>("k", bad, at()).is_none(), "{bad}");
        }
        assert!(ValueFormat::Native.row::<u64>("k", r#"{"c":"1","u":"1"}"#, at()).is_none());
    }
}
