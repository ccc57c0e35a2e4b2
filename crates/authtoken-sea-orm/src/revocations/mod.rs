//! Revocation channels for [`authtoken::cache::CachedStore`] over SQL (feature `cache`).
//!
//! - [`PgRevocations`] (with `postgres`): LISTEN/NOTIFY. A trigger on the token table
//!   (`authtoken_migration::CreateRevocationTrigger`) notifies in the deleting transaction, so
//!   every way a token dies is announced: logout, log out everywhere, an operator's `revoke` or
//!   `DELETE`, purge, and the cascade from the user table.

#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_CHANNEL, PgRevocations};

use authtoken::cache::Revocation;

/// A notification's payload as a revocation: `k:KEY,KEY…`, `u:USER` or `*`; `None` for
/// anything else (ignored).
pub(crate) fn parse(payload: &str) -> Option<Revocation> {
    if payload == "*" {
        return Some(Revocation::All);
    }
    if let Some(keys) = payload.strip_prefix("k:") {
        return Some(Revocation::Tokens(
            keys.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect(),
        ));
    }
    payload.strip_prefix("u:").map(|user| Revocation::User(user.to_owned()))
}

/// The payload announcing `revocation`.
pub(crate) fn payload(revocation: &Revocation) -> String {
    match revocation {
        Revocation::All => "*".to_owned(),
        Revocation::Tokens(keys) => format!("k:{}", keys.join(",")),
        Revocation::User(user) => format!("u:{user}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for revocation in [
            Revocation::All,
            Revocation::Tokens(vec!["abc".into(), "def".into()]),
            Revocation::User("42".into()),
        ] {
            assert_eq!(parse(&payload(&revocation)), Some(revocation));
        }
        assert_eq!(parse("ping"), None);
        assert_eq!(parse("k:"), Some(Revocation::Tokens(vec![])));
    }
}
