//! The SQL of every token-table operation, for stores built on an ORM's raw-SQL path.
//!
//! Both SQL stores (`authtoken-sea-orm`, `authtoken-diesel`) render these statements once per
//! table when they are made, and bind the values this module lists in order: the text and the
//! order are the contract, each ORM only maps a [`SqlParam`] to its own bind. One copy keeps the
//! two ORMs reading and writing the same rows in the same forms (a token written through one is
//! read through the other).
//!
//! ```
//! use authtoken::sql::{Dialect, Statements};
//! let sql = Statements::new(Dialect::Postgres, "access_token", false);
//! assert_eq!(sql.get, r#"SELECT token, user_id, created_at FROM "access_token" WHERE token = $1"#);
//! ```

use chrono::{DateTime, Utc};

use crate::store::TokenDetails;

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

/// Makes a MariaDB Galera node apply every write the cluster has certified before it answers:
/// a read through any node then sees every commit that returned through any other.
pub const CAUSAL_READ: &str = "SET STATEMENT wsrep_sync_wait=1 FOR ";

/// The same for a `DELETE` or an `UPDATE` (bit 2 of `wsrep_sync_wait`): a logout, "log out
/// everywhere" or a purge through one node then reaches every row whose insert returned through
/// any other (without it, a token issued through node A a moment before "log out everywhere"
/// through node B could survive it).
pub const CAUSAL_WRITE: &str = "SET STATEMENT wsrep_sync_wait=2 FOR ";

/// How many times a SQL store runs again a write that lost to a concurrent one (a deadlock, a
/// serialization failure or a lost Galera certification: nothing was committed), with
/// [`retry_pause`] between attempts; about 1.5 s in all.
pub const WRITE_RETRIES: u32 = 15;

/// Whether a database's error message says a column or a table is missing (PostgreSQL's
/// "does not exist", MySQL's and MariaDB's "Unknown column" and "doesn't exist", SQLite's "no
/// such column" and "no such table"): what a probe of optional columns may meet. Any other
/// error (a timeout, a lost connection, a refused permission) is a store failure, never "the
/// columns are not there", which would ignore each token's own expiry.
///
/// ```
/// use authtoken::sql::is_missing_column_or_table;
/// assert!(is_missing_column_or_table(r#"column "expires_at" does not exist"#));
/// assert!(is_missing_column_or_table("Unknown column 'expires_at' in 'field list'"));
/// assert!(is_missing_column_or_table("no such column: expires_at"));
/// assert!(!is_missing_column_or_table("canceling statement due to statement timeout"));
/// ```
pub fn is_missing_column_or_table(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["does not exist", "doesn't exist", "unknown column", "no such column", "no such table"]
        .iter()
        .any(|missing| message.contains(missing))
}

/// The pause before retry `attempt` (1-based): back-off doubling from 4 ms to at most 128 ms,
/// half fixed, half random, so that two losers do not collide again.
///
/// ```
/// let pause = authtoken::sql::retry_pause(1);
/// assert!(pause >= std::time::Duration::from_millis(2) && pause <= std::time::Duration::from_millis(4));
/// ```
pub fn retry_pause(attempt: u32) -> std::time::Duration {
    let ceiling = 2u64 << attempt.min(6);
    let mut byte = [0u8; 1];
    getrandom::fill(&mut byte).unwrap_or_default();
    std::time::Duration::from_millis(ceiling / 2 + u64::from(byte[0]) * ceiling / 2 / 255)
}

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

/// Pre-rendered statements for one token table on one dialect.
///
/// Statements that take a user id bind it where the field's text says (`insert`: second,
/// `delete`: second, `delete_all_of_user`, `list_of_user` and `limit_rows`: first, `lock_user`:
/// second after the table name); the others take the values of the method named beside them.
#[derive(Debug, Clone)]
pub struct Statements {
    /// The dialect they are written in.
    pub dialect: Dialect,
    /// The table, unquoted (`schema.table` allowed).
    pub table: String,
    /// One row of the table, any row: does it exist and read as expected?
    pub probe: String,
    /// The row of a key.
    pub get: String,
    /// A new row: [`insert_values`](Self::insert_values) around the user id.
    pub insert: String,
    /// A key's row if the user owns it.
    pub delete: String,
    /// Every row of a user.
    pub delete_all_of_user: String,
    /// A user's rows, oldest first.
    pub list_of_user: String,
    /// Rows whose key matches a pattern ([`key_prefix_pattern`](Self::key_prefix_pattern)), and
    /// the batch size.
    pub list_by_key_prefix: String,
    /// A batch of rows created before a cutoff: [`purge_values`](Self::purge_values).
    pub delete_created_before: String,
    /// How many rows were created before a cutoff: [`expired_values`](Self::expired_values).
    pub count_created_before: String,
    /// Whether the table has the API-token columns (and the statements read and write them).
    pub details: bool,
    /// With details: rows past their own expiry, or without one created before the cutoff
    /// ([`purge_expired_values`](Self::purge_expired_values)).
    pub delete_expired: String,
    /// With details: how many rows `delete_expired` would take
    /// ([`any_expired_values`](Self::any_expired_values)).
    pub count_expired: String,
    /// With details: stamps `last_used_at` unless it is already recent
    /// ([`record_use_values`](Self::record_use_values)).
    pub record_use: String,
    /// A user's rows, read under the per-user limit's lock. On MySQL/MariaDB the read is the
    /// lock itself (`FOR UPDATE`: next-key locks on the user's range of the `user_id` index).
    pub limit_rows: String,
    /// PostgreSQL: the per-user limit's lock, an advisory lock on the table name and the user
    /// id, held to the end of the transaction.
    pub lock_user: String,
}

impl Statements {
    /// The statements for `table` (unquoted; each part of `schema.table` is quoted on its own),
    /// with or without the API-token columns.
    pub fn new(dialect: Dialect, table: &str, details: bool) -> Self {
        let t = quote(dialect, table);
        let p = |n: usize| placeholder(dialect, n);
        let columns = if details {
            format!("token, user_id, created_at, {DETAIL_COLUMNS}")
        } else {
            "token, user_id, created_at".to_owned()
        };
        let values = (1..=if details { 7 } else { 3 }).map(p).collect::<Vec<_>>().join(", ");
        // Rows with their own expiry are not "created before the cutoff" kind of expired.
        let created_expired = |first: usize| match details {
            true => {
                format!("({} AND expires_at IS NULL)", time_before(dialect, "created_at", first))
            }
            false => time_before(dialect, "created_at", first),
        };
        let created_params = time_parameter_count(dialect);
        let any_expired = |first: usize| {
            format!(
                "({} OR (expires_at IS NOT NULL AND {}))",
                created_expired(first),
                time_before(dialect, "expires_at", first + created_params)
            )
        };
        Self {
            dialect,
            table: table.to_owned(),
            probe: format!("SELECT {columns} FROM {t} LIMIT 1"),
            get: format!("SELECT {columns} FROM {t} WHERE token = {}", p(1)),
            insert: format!("INSERT INTO {t} ({columns}) VALUES ({values})"),
            delete: format!("DELETE FROM {t} WHERE token = {} AND user_id = {}", p(1), p(2)),
            delete_all_of_user: format!("DELETE FROM {t} WHERE user_id = {}", p(1)),
            list_of_user: format!(
                "SELECT {columns} FROM {t} WHERE user_id = {} ORDER BY created_at, token",
                p(1)
            ),
            // SQLite's LIKE ignores case, its GLOB does not (and base64url holds none of GLOB's
            // `*?[`). Elsewhere `!` escapes LIKE's wildcards: `_` is a base64url character, and
            // MySQL reads a backslash in a string literal as an escape of its own.
            list_by_key_prefix: match dialect {
                Dialect::Sqlite => {
                    format!("SELECT {columns} FROM {t} WHERE token GLOB ? ORDER BY token LIMIT ?")
                }
                _ => format!(
                    "SELECT {columns} FROM {t} WHERE token LIKE {} ESCAPE '!' ORDER BY token LIMIT {}",
                    p(1),
                    p(2)
                ),
            },
            delete_created_before: bounded_delete(dialect, &t, &created_expired, created_params),
            count_created_before: format!(
                "SELECT COUNT(*) AS expired FROM {t} WHERE {}",
                created_expired(1)
            ),
            details,
            delete_expired: bounded_delete(dialect, &t, &any_expired, created_params * 2),
            count_expired: format!("SELECT COUNT(*) AS expired FROM {t} WHERE {}", any_expired(1)),
            limit_rows: match dialect {
                Dialect::MySql => format!("SELECT {columns} FROM {t} WHERE user_id = ? FOR UPDATE"),
                _ => format!("SELECT {columns} FROM {t} WHERE user_id = {}", p(1)),
            },
            lock_user: format!(
                "SELECT pg_advisory_xact_lock(hashtextextended({} || ':' || CAST({} AS TEXT), 0))",
                p(1),
                p(2)
            ),
            // Never revives an expired row; extends only (COALESCE keeps the expiry when there
            // is no extension).
            record_use: format!(
                "UPDATE {t} SET last_used_at = {}, expires_at = COALESCE({}, expires_at) \
                 WHERE token = {} AND (last_used_at IS NULL OR {}) \
                 AND (expires_at IS NULL OR NOT {})",
                p(1),
                p(2),
                p(3),
                time_before(dialect, "last_used_at", 4),
                time_before(dialect, "expires_at", 4 + created_params)
            ),
        }
    }

    /// The same statements made causal on a MariaDB Galera cluster: every read (see
    /// [`CAUSAL_READ`]) and every `DELETE` and `UPDATE` (see [`CAUSAL_WRITE`]); an `INSERT`
    /// needs no wait.
    pub fn with_causal_reads(&self) -> Self {
        let causal = |sql: &str| format!("{CAUSAL_READ}{sql}");
        let causal_write = |sql: &str| format!("{CAUSAL_WRITE}{sql}");
        Self {
            delete: causal_write(&self.delete),
            delete_all_of_user: causal_write(&self.delete_all_of_user),
            delete_created_before: causal_write(&self.delete_created_before),
            delete_expired: causal_write(&self.delete_expired),
            record_use: causal_write(&self.record_use),
            probe: causal(&self.probe),
            get: causal(&self.get),
            list_of_user: causal(&self.list_of_user),
            list_by_key_prefix: causal(&self.list_by_key_prefix),
            count_created_before: causal(&self.count_created_before),
            count_expired: causal(&self.count_expired),
            ..self.clone()
        }
    }

    /// A `SELECT` of the API-token columns, to ask whether the table has them.
    pub fn details_probe(&self) -> String {
        format!("SELECT {DETAIL_COLUMNS} FROM {} LIMIT 1", quote(self.dialect, &self.table))
    }

    /// A time as this dialect stores it.
    pub fn timestamp(&self, at: DateTime<Utc>) -> SqlParam {
        match self.dialect {
            Dialect::Sqlite => SqlParam::Text(at.format(SQLITE_TIMESTAMP).to_string()),
            _ => SqlParam::Time(at),
        }
    }

    /// An optional time as this dialect stores it (`NULL` for none).
    pub fn optional_timestamp(&self, at: Option<DateTime<Utc>>) -> SqlParam {
        match (at, self.dialect) {
            (Some(at), _) => self.timestamp(at),
            (None, Dialect::Sqlite) => SqlParam::OptText(None),
            (None, _) => SqlParam::OptTime(None),
        }
    }

    /// The values of `insert`, the user id left out: `(token, user id, rest)` binds as
    /// `token`, the id, then `rest` in order.
    pub fn insert_values(
        &self,
        created_at: DateTime<Utc>,
        details: &TokenDetails,
    ) -> Vec<SqlParam> {
        let mut values = vec![self.timestamp(created_at)];
        if self.details {
            values.extend([
                self.optional_timestamp(details.expires_at),
                SqlParam::OptText(details.name.clone()),
                SqlParam::OptText(join_scopes(&details.scopes)),
                self.optional_timestamp(details.last_used_at),
            ]);
        }
        values
    }

    /// The pattern `list_by_key_prefix` binds first for keys starting with `prefix` (escaped for
    /// `LIKE`, or a `GLOB` on SQLite). The store still filters the rows it gets by the exact
    /// prefix: a case-insensitive collation may match more.
    pub fn key_prefix_pattern(&self, prefix: &str) -> String {
        if self.dialect == Dialect::Sqlite {
            prefix.chars().filter(|c| !matches!(c, '*' | '?' | '[')).chain(['*']).collect()
        } else {
            prefix
                .chars()
                .flat_map(|c| match c {
                    '!' | '%' | '_' => vec!['!', c],
                    c => vec![c],
                })
                .chain(['%'])
                .collect()
        }
    }

    /// The values of `delete_created_before`: the cutoff, the batch size, and on SQLite (whose
    /// placeholders are positional) the cutoff again for the repeated outer condition.
    pub fn purge_values(&self, cutoff: DateTime<Utc>, limit: u32) -> Vec<SqlParam> {
        let mut values = self.expired_values(cutoff);
        values.push(SqlParam::Int(limit.into()));
        if self.dialect == Dialect::Sqlite {
            values.extend(self.expired_values(cutoff));
        }
        values
    }

    /// The values of `delete_expired`: the cutoff and `now`, the batch size, and on SQLite the
    /// first two again for the repeated outer condition.
    pub fn purge_expired_values(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Vec<SqlParam> {
        let condition = self.any_expired_values(now, cutoff);
        let mut values = condition.clone();
        values.push(SqlParam::Int(limit.into()));
        if self.dialect == Dialect::Sqlite {
            values.extend(condition);
        }
        values
    }

    /// The values of `count_expired`.
    pub fn any_expired_values(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Vec<SqlParam> {
        let mut values = self.expired_values(cutoff);
        values.extend(self.expired_values(now));
        values
    }

    /// The values of `record_use`: the use, the extension, the key, then the two times its
    /// conditions compare with (each in both text forms on SQLite).
    pub fn record_use_values(
        &self,
        token: &str,
        at: DateTime<Utc>,
        extend_to: Option<DateTime<Utc>>,
        unless_since: DateTime<Utc>,
    ) -> Vec<SqlParam> {
        let mut values = vec![
            self.timestamp(at),
            self.optional_timestamp(extend_to),
            SqlParam::Text(token.to_owned()),
        ];
        values.extend(self.expired_values(unless_since));
        values.extend(self.expired_values(at));
        values
    }

    /// The values of `count_created_before`: rows created before `cutoff`. On SQLite the time
    /// twice, once in each text form a row may hold (the two do not order against each other).
    pub fn expired_values(&self, cutoff: DateTime<Utc>) -> Vec<SqlParam> {
        match self.dialect {
            Dialect::Sqlite => vec![
                self.timestamp(cutoff),
                SqlParam::Text(cutoff.format(SQLITE_RFC3339_TIMESTAMP).to_string()),
            ],
            _ => vec![SqlParam::Time(cutoff)],
        }
    }
}

/// A `DELETE` of at most a batch of rows matching `condition` (rendered with placeholders
/// numbered from its argument, `params` of them), oldest first; the batch size is placeholder
/// `params + 1`.
fn bounded_delete(
    dialect: Dialect,
    t: &str,
    condition: &dyn Fn(usize) -> String,
    params: usize,
) -> String {
    let batch_limit = placeholder(dialect, params + 1);
    match dialect {
        // MySQL takes ORDER BY and LIMIT on DELETE itself, but not LIMIT in an IN subquery.
        Dialect::MySql => {
            format!(
                "DELETE FROM {t} WHERE {} ORDER BY created_at LIMIT {batch_limit}",
                condition(1)
            )
        }
        // PostgreSQL has no DELETE ... LIMIT, and SQLite has it only when compiled with it.
        // The outer WHERE repeats the condition: under READ COMMITTED a row the subquery picked
        // may be refreshed by another transaction before the DELETE locks it, and PostgreSQL
        // re-checks only the outer condition on the row's new version. (`?` placeholders are
        // positional: on SQLite the store binds the condition's values again.)
        _ => format!(
            "DELETE FROM {t} WHERE token IN \
             (SELECT token FROM {t} WHERE {} ORDER BY created_at LIMIT {batch_limit}) \
             AND {}",
            condition(1),
            condition(1)
        ),
    }
}

/// `column` strictly before a time, with placeholders numbered from `first`.
///
/// On SQLite a row may hold either text form (ours, or RFC 3339 from a SeaORM `ActiveModel`); each
/// is compared with the time written in its own form, since the two do not order against each
/// other (`' '` sorts before `'T'`): two placeholders there, one elsewhere.
fn time_before(dialect: Dialect, column: &str, first: usize) -> String {
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

fn time_parameter_count(dialect: Dialect) -> usize {
    if dialect == Dialect::Sqlite { 2 } else { 1 }
}

fn placeholder(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Quotes a table name, each part of a `schema.table` name on its own.
///
/// ```
/// use authtoken::sql::{Dialect, quote};
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
/// assert_eq!(authtoken::sql::split_scopes(Some("read  write")), ["read", "write"]);
/// assert!(authtoken::sql::split_scopes(None).is_empty());
/// ```
pub fn split_scopes(column: Option<&str>) -> Vec<String> {
    column.unwrap_or_default().split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A list of scopes as the `scopes` column keeps it (`NULL` for none).
pub fn join_scopes(scopes: &[String]) -> Option<String> {
    (!scopes.is_empty()).then(|| scopes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(sqlite.purge_values(cutoff, 10).len(), 5);
        assert_eq!(pg.purge_values(cutoff, 10).len(), 2);
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
            assert_eq!(marks(&s.delete_expired), s.purge_expired_values(now, now, 1).len());
            assert_eq!(marks(&s.count_expired), s.any_expired_values(now, now).len());
            assert_eq!(marks(&s.record_use), s.record_use_values("k", now, None, now).len());
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
