//! The SQL of every store operation, written once per backend and table when the store is made.
//!
//! Rendering at construction keeps query building off the per-request path, and lets the driver
//! reuse one prepared statement per operation (sqlx caches them by SQL text).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, Value};

/// SQLite keeps timestamps as text. Written in one fixed-width form, text order is time order;
/// this form (`2026-01-01 12:00:00.000000`) is also what SQLAlchemy writes, so a table shared with
/// fastapi-users compares correctly from both sides.
const SQLITE_TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// The RFC 3339 form sqlx writes when a SeaORM `ActiveModel` inserts a row on SQLite.
const SQLITE_RFC3339_TIMESTAMP: &str = "%Y-%m-%dT%H:%M:%S%.6f+00:00";

/// Pre-rendered statements for one token table on one backend.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub backend: DatabaseBackend,
    pub table: String,
    pub probe: String,
    pub get: String,
    pub insert: String,
    pub delete: String,
    pub delete_all_of_user: String,
    pub list_of_user: String,
    pub list_by_key_prefix: String,
    pub delete_created_before: String,
    pub count_created_before: String,
    /// Whether the table has the API-token columns (and the statements read and write them).
    pub details: bool,
    /// With details: rows past their own expiry, or without one created before the cutoff.
    pub delete_expired: String,
    pub count_expired: String,
    /// With details: stamps `last_used_at` unless it is already recent.
    pub record_use: String,
    /// A user's rows, read under the per-user limit's lock. On MySQL/MariaDB the read is the
    /// lock itself (`FOR UPDATE`: next-key locks on the user's range of the `user_id` index).
    pub limit_rows: String,
    /// PostgreSQL: the per-user limit's lock, an advisory lock on the table and the user id,
    /// held to the end of the transaction.
    pub lock_user: String,
}

/// The API-token columns, in the order the statements list them.
pub(crate) const DETAIL_COLUMNS: &str = "expires_at, name, scopes, last_used_at";

/// Makes a MariaDB Galera node apply every write the cluster has certified before it answers:
/// a read through any node then sees every commit that returned through any other.
pub(crate) const CAUSAL_READ: &str = "SET STATEMENT wsrep_sync_wait=1 FOR ";

/// The same for a `DELETE` or an `UPDATE` (bit 2 of `wsrep_sync_wait`): a logout, "log out
/// everywhere" or a purge through one node then reaches every row whose insert returned through
/// any other (without it, a token issued through node A a moment before "log out everywhere"
/// through node B could survive it).
pub(crate) const CAUSAL_WRITE: &str = "SET STATEMENT wsrep_sync_wait=2 FOR ";

impl Statements {
    /// The same statements made causal on a Galera cluster: every read (see [`CAUSAL_READ`])
    /// and every `DELETE` and `UPDATE` (see [`CAUSAL_WRITE`]); an `INSERT` needs no wait.
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

    pub fn new(backend: DatabaseBackend, table: &str, details: bool) -> Self {
        let t = quote(backend, table);
        let p = |n: usize| placeholder(backend, n);
        let columns = if details {
            format!("token, user_id, created_at, {DETAIL_COLUMNS}")
        } else {
            "token, user_id, created_at".to_owned()
        };
        let values = (1..=if details { 7 } else { 3 }).map(p).collect::<Vec<_>>().join(", ");
        // Rows with their own expiry are not "created before the cutoff" kind of expired.
        let created_expired = |first: usize| match details {
            true => format!("({} AND expires_at IS NULL)", expired_condition(backend, first)),
            false => expired_condition(backend, first),
        };
        let created_params = expired_parameter_count(backend);
        let any_expired = |first: usize| {
            format!(
                "({} OR (expires_at IS NOT NULL AND {}))",
                created_expired(first),
                time_before(backend, "expires_at", first + created_params)
            )
        };
        Self {
            backend,
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
            list_by_key_prefix: match backend {
                DatabaseBackend::Sqlite => {
                    format!("SELECT {columns} FROM {t} WHERE token GLOB ? ORDER BY token LIMIT ?")
                }
                _ => format!(
                    "SELECT {columns} FROM {t} WHERE token LIKE {} ESCAPE '!' ORDER BY token LIMIT {}",
                    p(1),
                    p(2)
                ),
            },
            delete_created_before: bounded_delete(backend, &t, &created_expired, created_params),
            count_created_before: format!(
                "SELECT COUNT(*) AS expired FROM {t} WHERE {}",
                created_expired(1)
            ),
            details,
            delete_expired: bounded_delete(backend, &t, &any_expired, created_params * 2),
            count_expired: format!("SELECT COUNT(*) AS expired FROM {t} WHERE {}", any_expired(1)),
            // Never revives an expired row; extends only (COALESCE keeps the expiry when there
            // is no extension).
            limit_rows: match backend {
                DatabaseBackend::MySql => {
                    format!("SELECT {columns} FROM {t} WHERE user_id = ? FOR UPDATE")
                }
                _ => format!("SELECT {columns} FROM {t} WHERE user_id = {}", p(1)),
            },
            lock_user: format!(
                "SELECT pg_advisory_xact_lock(hashtextextended({} || ':' || CAST({} AS TEXT), 0))",
                p(1),
                p(2)
            ),
            record_use: format!(
                "UPDATE {t} SET last_used_at = {}, expires_at = COALESCE({}, expires_at) \
                 WHERE token = {} AND (last_used_at IS NULL OR {}) \
                 AND (expires_at IS NULL OR NOT {})",
                p(1),
                p(2),
                p(3),
                time_before(backend, "last_used_at", 4),
                time_before(backend, "expires_at", 4 + created_params)
            ),
        }
    }

    /// An optional time as this backend stores it (`NULL` for none).
    pub fn optional_timestamp(&self, at: Option<DateTime<Utc>>) -> Value {
        match (at, self.backend) {
            (Some(at), _) => self.timestamp(at),
            (None, DatabaseBackend::Sqlite) => Value::String(None),
            (None, _) => Value::ChronoDateTimeUtc(None),
        }
    }

    /// The values of `delete_expired`: the cutoff and `now`, the batch size, and on SQLite the
    /// first two again for the repeated outer condition.
    pub fn purge_expired_values(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Vec<Value> {
        let condition = self.any_expired_values(now, cutoff);
        let mut values = condition.clone();
        values.push(limit.into());
        if self.backend == DatabaseBackend::Sqlite {
            values.extend(condition);
        }
        values
    }

    /// The values of `count_expired`.
    pub fn any_expired_values(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Vec<Value> {
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
    ) -> Vec<Value> {
        let mut values = vec![self.timestamp(at), self.optional_timestamp(extend_to), token.into()];
        values.extend(self.expired_values(unless_since));
        values.extend(self.expired_values(at));
        values
    }

    /// A creation time as this backend stores it.
    pub fn timestamp(&self, at: DateTime<Utc>) -> Value {
        match self.backend {
            DatabaseBackend::Sqlite => at.format(SQLITE_TIMESTAMP).to_string().into(),
            _ => at.into(),
        }
    }

    /// The values for [`expired_condition`]'s placeholders: rows created before `cutoff`.
    /// The values of `delete_created_before`: the cutoff, the batch size, and on SQLite (whose
    /// placeholders are positional) the cutoff again for the repeated outer condition.
    pub fn purge_values(&self, cutoff: DateTime<Utc>, limit: u32) -> Vec<Value> {
        let mut values = self.expired_values(cutoff);
        values.push(limit.into());
        if self.backend == DatabaseBackend::Sqlite {
            values.extend(self.expired_values(cutoff));
        }
        values
    }

    pub fn expired_values(&self, cutoff: DateTime<Utc>) -> Vec<Value> {
        match self.backend {
            DatabaseBackend::Sqlite => vec![
                self.timestamp(cutoff),
                cutoff.format(SQLITE_RFC3339_TIMESTAMP).to_string().into(),
            ],
            _ => vec![cutoff.into()],
        }
    }
}

/// A `DELETE` of at most a batch of rows matching `condition` (rendered with placeholders
/// numbered from its argument, `params` of them), oldest first; the batch size is placeholder
/// `params + 1`.
fn bounded_delete(
    backend: DatabaseBackend,
    t: &str,
    condition: &dyn Fn(usize) -> String,
    params: usize,
) -> String {
    let batch_limit = placeholder(backend, params + 1);
    match backend {
        // MySQL takes ORDER BY and LIMIT on DELETE itself, but not LIMIT in an IN subquery.
        DatabaseBackend::MySql => {
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

/// `created_at` strictly before the cutoff, with placeholders numbered from `first`.
///
/// On SQLite a row may hold either text form (ours, or RFC 3339 from a SeaORM `ActiveModel`); each
/// is compared with the cutoff written in its own form, since the two do not order against each
/// other (`' '` sorts before `'T'`).
fn expired_condition(backend: DatabaseBackend, first: usize) -> String {
    time_before(backend, "created_at", first)
}

/// `column` strictly before a time, with placeholders numbered from `first`: on SQLite two (the
/// time in each text form, see [`expired_condition`]), elsewhere one.
fn time_before(backend: DatabaseBackend, column: &str, first: usize) -> String {
    match backend {
        DatabaseBackend::Sqlite => format!(
            "((substr({column}, 11, 1) = ' ' AND {column} < {}) \
             OR (substr({column}, 11, 1) = 'T' AND {column} < {}))",
            placeholder(backend, first),
            placeholder(backend, first + 1)
        ),
        _ => format!("{column} < {}", placeholder(backend, first)),
    }
}

fn expired_parameter_count(backend: DatabaseBackend) -> usize {
    if backend == DatabaseBackend::Sqlite { 2 } else { 1 }
}

fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Quotes a table name, each part of a `schema.table` name on its own.
pub(crate) fn quote(backend: DatabaseBackend, name: &str) -> String {
    let (open, close) = if backend == DatabaseBackend::MySql { ('`', "``") } else { ('"', "\"\"") };
    name.split('.')
        .map(|part| format!("{open}{}{open}", part.replace(open, close)))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_per_backend() {
        assert_eq!(
            quote(DatabaseBackend::Postgres, "auth.access_token"),
            r#""auth"."access_token""#
        );
        assert_eq!(quote(DatabaseBackend::MySql, "weird`name"), "`weird``name`");
        assert_eq!(quote(DatabaseBackend::Sqlite, r#"a"b"#), r#""a""b""#);
    }

    #[test]
    fn placeholders_are_numbered_on_postgres_only() {
        let pg = Statements::new(DatabaseBackend::Postgres, "t", false);
        assert_eq!(pg.delete, r#"DELETE FROM "t" WHERE token = $1 AND user_id = $2"#);
        assert!(pg.delete_created_before.ends_with("LIMIT $2) AND created_at < $1"));
        let sqlite = Statements::new(DatabaseBackend::Sqlite, "t", false);
        assert!(sqlite.delete_created_before.contains("LIMIT ?) AND ((substr"));
        let cutoff = chrono::Utc::now();
        assert_eq!(sqlite.purge_values(cutoff, 10).len(), 5);
        assert_eq!(pg.purge_values(cutoff, 10).len(), 2);
        let mysql = Statements::new(DatabaseBackend::MySql, "t", false);
        assert_eq!(
            mysql.delete_created_before,
            "DELETE FROM `t` WHERE created_at < ? ORDER BY created_at LIMIT ?"
        );
    }

    #[test]
    fn sqlite_timestamps_are_fixed_width_and_ordered() {
        let s = Statements::new(DatabaseBackend::Sqlite, "t", false);
        let whole: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
        let later = whole + chrono::TimeDelta::microseconds(1);
        let text = |v: Value| match v {
            Value::String(Some(s)) => s.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(s.timestamp(whole)), "2026-01-01 12:00:00.000000");
        assert_eq!(text(s.timestamp(later)), "2026-01-01 12:00:00.000001");
        assert!(text(s.timestamp(whole)) < text(s.timestamp(later)));
    }
}

#[cfg(test)]
mod details_tests {
    use super::*;

    #[test]
    fn details_statements_bind_what_they_name() {
        let now = chrono::Utc::now();
        for backend in [DatabaseBackend::Postgres, DatabaseBackend::MySql, DatabaseBackend::Sqlite]
        {
            let s = Statements::new(backend, "t", true);
            let marks = |sql: &str| match backend {
                DatabaseBackend::Postgres => {
                    (1..=9).filter(|n| sql.contains(&format!("${n}"))).count()
                }
                _ => sql.matches('?').count(),
            };
            eprintln!("{backend:?}: {}", s.delete_expired);
            assert_eq!(
                marks(&s.delete_expired),
                match backend {
                    DatabaseBackend::Postgres => s.purge_expired_values(now, now, 1).len(),
                    _ => s.purge_expired_values(now, now, 1).len(),
                }
            );
            assert_eq!(marks(&s.count_expired), s.any_expired_values(now, now).len());
            assert_eq!(marks(&s.record_use), s.record_use_values("k", now, None, now).len());
            assert_eq!(marks(&s.insert), 7);
        }
    }
}
