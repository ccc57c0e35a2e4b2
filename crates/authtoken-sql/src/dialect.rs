//! The databases the statements are written for, and how each spells names, placeholders,
//! times and scopes.

use chrono::{DateTime, Utc};

/// The SQL database a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite: `?` placeholders, timestamps as text.
    Sqlite,
    /// PostgreSQL: numbered placeholders (`$1`), `timestamptz`.
    Postgres,
    /// MySQL or MariaDB: `?` placeholders, `DATETIME(6)` in UTC.
    MySql,
}

/// SQLite keeps timestamps as text. Written in one fixed-width form, text order is time order;
/// this form (`2026-01-01 12:00:00.000000`) is also what SQLAlchemy writes, so a table shared with
/// fastapi-users compares correctly from both sides.
pub const SQLITE_TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// The RFC 3339 form sqlx writes when a SeaORM `ActiveModel` inserts a row on SQLite.
pub const SQLITE_RFC3339_TIMESTAMP: &str = "%Y-%m-%dT%H:%M:%S%.6f+00:00";

/// The API-token columns, in the order the statements list them.
pub const DETAIL_COLUMNS: &str = "expires_at, name, scopes, last_used_at";

/// The client's columns (what a sessions page shows), in the order the statements list them.
pub const CLIENT_COLUMNS: &str = "user_agent, address";

/// Makes a MariaDB Galera node apply every write the cluster has certified before it answers:
/// a read through any node then sees every commit that returned through any other.
pub const CAUSAL_READ: &str = "SET STATEMENT wsrep_sync_wait=1 FOR ";

/// The same for a `DELETE` or an `UPDATE` (bit 2 of `wsrep_sync_wait`): a logout, "log out
/// everywhere" or a purge through one node then reaches every row whose insert returned through
/// any other (without it, a token issued through node A a moment before "log out everywhere"
/// through node B could survive it).
pub const CAUSAL_WRITE: &str = "SET STATEMENT wsrep_sync_wait=2 FOR ";

/// One value to bind, in the form the dialect stores it (SQLite's times arrive as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlParam {
    /// A text value.
    Text(String),
    /// A nullable text value.
    OptText(Option<String>),
    /// A UTC time (PostgreSQL `timestamptz`, MySQL `DATETIME(6)`).
    Time(DateTime<Utc>),
    /// A nullable UTC time.
    OptTime(Option<DateTime<Utc>>),
    /// An integer (a batch size).
    Int(i64),
}

/// `column` strictly before a time, with placeholders numbered from `first`.
///
/// On SQLite a row may hold either text form (ours, or RFC 3339 from a SeaORM `ActiveModel`); each
/// is compared with the time written in its own form, since the two do not order against each
/// other (`' '` sorts before `'T'`): two placeholders there, one elsewhere.
pub(crate) fn time_before(dialect: Dialect, column: &str, first: usize) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "((substr({column}, 11, 1) = ' ' AND {column} < {}) \
             OR (substr({column}, 11, 1) = 'T' AND {column} < {}))",
            placeholder(dialect, first),
            placeholder(dialect, first + 1)
        ),
        _ => format!("{column} < {}", placeholder(dialect, first)),
    }
}

pub(crate) fn time_parameter_count(dialect: Dialect) -> usize {
    if dialect == Dialect::Sqlite { 2 } else { 1 }
}

pub(crate) fn placeholder(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Quotes a table name, each part of a `schema.table` name on its own.
///
/// ```
/// use authtoken_sql::{Dialect, quote};
/// assert_eq!(quote(Dialect::Postgres, "auth.access_token"), r#""auth"."access_token""#);
/// assert_eq!(quote(Dialect::MySql, "weird`name"), "`weird``name`");
/// ```
pub fn quote(dialect: Dialect, name: &str) -> String {
    let (open, close) = if dialect == Dialect::MySql { ('`', "``") } else { ('"', "\"\"") };
    name.split('.')
        .map(|part| format!("{open}{}{open}", part.replace(open, close)))
        .collect::<Vec<_>>()
        .join(".")
}

/// The `scopes` column's text as a list (space-separated; `NULL` or empty: none).
///
/// ```
/// assert_eq!(authtoken_sql::split_scopes(Some("read  write")), ["read", "write"]);
/// assert!(authtoken_sql::split_scopes(None).is_empty());
/// ```
pub fn split_scopes(column: Option<&str>) -> Vec<String> {
    column.unwrap_or_default().split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A list of scopes as the `scopes` column keeps it (`NULL` for none).
pub fn join_scopes(scopes: &[String]) -> Option<String> {
    (!scopes.is_empty()).then(|| scopes.join(" "))
}
