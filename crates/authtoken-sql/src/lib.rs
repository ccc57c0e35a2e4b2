//! The SQL of every token-table operation, for stores built on an ORM's raw-SQL path.
//!
//! Both SQL stores (`authtoken-sea-orm`, `authtoken-diesel`) render these statements once per
//! table when they are made, and bind the values this module lists in order: the text and the
//! order are the contract, each ORM only maps a [`SqlParam`] to its own bind. One copy keeps the
//! two ORMs reading and writing the same rows in the same forms (a token written through one is
//! read through the other).
//!
//! ```
//! use authtoken_sql::{Dialect, Statements};
//! let sql = Statements::new(Dialect::Postgres, "access_token", false);
//! assert_eq!(sql.get, r#"SELECT token, user_id, created_at FROM "access_token" WHERE token = $1"#);
//! ```

mod dialect;
mod refresh;
mod replicas;
mod retry;
mod statements;

pub use dialect::{
    CAUSAL_READ, CAUSAL_WRITE, CLIENT_COLUMNS, DETAIL_COLUMNS, Dialect, SQLITE_RFC3339_TIMESTAMP,
    SQLITE_TIMESTAMP, SqlParam, join_scopes, quote, split_scopes,
};
pub use refresh::RefreshStatements;
pub use replicas::{
    DEFAULT_REPLICA_TIMEOUT, FRESH, FRESHNESS_PROBE, PRIMARY_SETTINGS, REPLICA_STATE, ReplicaCheck,
    ReplicaSet, ReplicaStats, SYNCHRONOUS_STANDBYS, refuse_replicas,
};
pub use retry::{WRITE_RETRIES, retry_pause, retrying_conflicts};
pub use statements::{Bound, Statements};

#[cfg(test)]
mod tests {
    use super::*;
    use authtoken::store::TokenDetails;
    use chrono::{DateTime, Utc};

    #[test]
    fn names_are_quoted_per_dialect() {
        assert_eq!(quote(Dialect::Postgres, "auth.access_token"), r#""auth"."access_token""#);
        assert_eq!(quote(Dialect::MySql, "weird`name"), "`weird``name`");
        assert_eq!(quote(Dialect::Sqlite, r#"a"b"#), r#""a""b""#);
    }

    #[test]
    fn placeholders_are_numbered_on_postgres_only() {
        let pg = Statements::new(Dialect::Postgres, "t", false);
        assert_eq!(pg.delete, r#"DELETE FROM "t" WHERE token = $1 AND user_id = $2"#);
        assert!(pg.delete_created_before.ends_with("LIMIT $2) AND created_at < $1"));
        let sqlite = Statements::new(Dialect::Sqlite, "t", false);
        assert!(sqlite.delete_created_before.contains("LIMIT ?) AND ((substr"));
        let cutoff = Utc::now();
        assert_eq!(sqlite.bound_delete_created_before(cutoff, 10).values.len(), 5);
        assert_eq!(pg.bound_delete_created_before(cutoff, 10).values.len(), 2);
        let mysql = Statements::new(Dialect::MySql, "t", false);
        assert_eq!(
            mysql.delete_created_before,
            "DELETE FROM `t` WHERE created_at < ? ORDER BY created_at LIMIT ?"
        );
    }

    #[test]
    fn sqlite_timestamps_are_fixed_width_and_ordered() {
        let s = Statements::new(Dialect::Sqlite, "t", false);
        let whole: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
        let later = whole + chrono::TimeDelta::microseconds(1);
        let text = |v: SqlParam| match v {
            SqlParam::Text(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(text(s.timestamp(whole)), "2026-01-01 12:00:00.000000");
        assert_eq!(text(s.timestamp(later)), "2026-01-01 12:00:00.000001");
        assert!(text(s.timestamp(whole)) < text(s.timestamp(later)));
    }

    #[test]
    fn details_statements_bind_what_they_name() {
        let now = Utc::now();
        for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            let s = Statements::new(dialect, "t", true);
            let marks = |sql: &str| match dialect {
                Dialect::Postgres => (1..=9).filter(|n| sql.contains(&format!("${n}"))).count(),
                _ => sql.matches('?').count(),
            };
            for bound in [
                s.bound_delete_expired(now, now, 1),
                s.bound_count_expired(now, now),
                s.bound_record_use("k", now, None, now),
                s.bound_delete_created_before(now, 1),
                s.bound_count_created_before(now),
            ] {
                assert_eq!(marks(bound.sql), bound.values.len(), "{}", bound.sql);
            }
            // The token and the user id, then the rest.
            assert_eq!(marks(&s.insert), 2 + s.insert_values(now, &TokenDetails::default()).len());
        }
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        let pg = Statements::new(Dialect::Postgres, "t", false);
        assert_eq!(pg.key_prefix_pattern("a_b%"), "a!_b!%%");
        let sqlite = Statements::new(Dialect::Sqlite, "t", false);
        assert_eq!(sqlite.key_prefix_pattern("a_b"), "a_b*");
    }
}
