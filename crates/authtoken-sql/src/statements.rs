//! [`Statements`]: every token-table statement of one table on one dialect, and its values.

use authtoken::store::TokenDetails;
use chrono::{DateTime, Utc};

use crate::dialect::{placeholder, time_before, time_parameter_count};
use crate::{
    CAUSAL_READ, CAUSAL_WRITE, CLIENT_COLUMNS, DETAIL_COLUMNS, Dialect, SQLITE_RFC3339_TIMESTAMP,
    SQLITE_TIMESTAMP, SqlParam, join_scopes, quote,
};

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
    /// A batch of rows created before a cutoff: bound by
    /// [`bound_delete_created_before`](Self::bound_delete_created_before).
    pub delete_created_before: String,
    /// How many rows were created before a cutoff: bound by
    /// [`bound_count_created_before`](Self::bound_count_created_before).
    pub count_created_before: String,
    /// Whether the table has the API-token columns (and the statements read and write them).
    pub details: bool,
    /// Whether the statements read and write the client's columns too
    /// ([`with_client_columns`](Self::with_client_columns)).
    pub client: bool,
    /// With details: rows past their own expiry, or without one created before the cutoff
    /// (bound by [`bound_delete_expired`](Self::bound_delete_expired)).
    pub delete_expired: String,
    /// With details: how many rows `delete_expired` would take
    /// (bound by [`bound_count_expired`](Self::bound_count_expired)).
    pub count_expired: String,
    /// With details: stamps `last_used_at` unless it is already recent
    /// (bound by [`bound_record_use`](Self::bound_record_use)).
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
        Self::render(dialect, table, details, false)
    }

    /// The same statements reading and writing the client's columns too (`user_agent`,
    /// `address`: what a sessions page shows), causal if these were.
    ///
    /// ```
    /// use authtoken_sql::{Dialect, Statements};
    /// let sql = Statements::new(Dialect::Sqlite, "t", true).with_client_columns();
    /// assert!(sql.get.contains("last_used_at, user_agent, address FROM"));
    /// ```
    pub fn with_client_columns(&self) -> Self {
        let sql = Self::render(self.dialect, &self.table, self.details, true);
        if self.get.starts_with(CAUSAL_READ) { sql.with_causal_reads() } else { sql }
    }

    fn render(dialect: Dialect, table: &str, details: bool, client: bool) -> Self {
        let t = quote(dialect, table);
        let p = |n: usize| placeholder(dialect, n);
        let mut columns = "token, user_id, created_at".to_owned();
        if details {
            columns.push_str(&format!(", {DETAIL_COLUMNS}"));
        }
        if client {
            columns.push_str(&format!(", {CLIENT_COLUMNS}"));
        }
        let count = 3 + if details { 4 } else { 0 } + if client { 2 } else { 0 };
        let values = (1..=count).map(p).collect::<Vec<_>>().join(", ");
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
                "SELECT COUNT(*) AS total FROM {t} WHERE {}",
                created_expired(1)
            ),
            details,
            client,
            delete_expired: bounded_delete(dialect, &t, &any_expired, created_params * 2),
            count_expired: format!("SELECT COUNT(*) AS total FROM {t} WHERE {}", any_expired(1)),
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

    /// How many of the four API-token columns the table has (`SELECT COUNT(*) AS total`), asked
    /// of the database's catalog: 4 with them, 0 without them or without the table. Never by
    /// selecting them and reading the error's text, which a server may write in another
    /// language, and which aborts a PostgreSQL transaction.
    ///
    /// ```
    /// use authtoken_sql::{Dialect, SqlParam, Statements};
    /// let sql = Statements::new(Dialect::MySql, "auth.access_token", false);
    /// let (_, values) = sql.detail_columns();
    /// assert_eq!(values, [SqlParam::OptText(Some("auth".into())), SqlParam::Text("access_token".into())]);
    /// ```
    pub fn detail_columns(&self) -> (String, Vec<SqlParam>) {
        self.count_columns("'expires_at', 'name', 'scopes', 'last_used_at'")
    }

    /// How many of the client's two columns (`user_agent`, `address`) the table has, asked as
    /// [`detail_columns`](Self::detail_columns) asks.
    pub fn client_columns(&self) -> (String, Vec<SqlParam>) {
        self.count_columns("'user_agent', 'address'")
    }

    fn count_columns(&self, names: &str) -> (String, Vec<SqlParam>) {
        let (schema, table) = match self.table.split_once('.') {
            Some((schema, table)) => (Some(schema.to_owned()), table.to_owned()),
            None => (None, self.table.clone()),
        };
        match (self.dialect, schema) {
            // `to_regclass` resolves the name as a query would (search_path included), and is
            // NULL for a table that is not there.
            (Dialect::Postgres, _) => (
                format!(
                    "SELECT COUNT(*) AS total FROM pg_catalog.pg_attribute \
                     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped \
                     AND attname IN ({names})"
                ),
                vec![SqlParam::Text(quote(Dialect::Postgres, &self.table))],
            ),
            (Dialect::MySql, schema) => (
                format!(
                    "SELECT COUNT(*) AS total FROM information_schema.columns \
                     WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? \
                     AND column_name IN ({names})"
                ),
                vec![SqlParam::OptText(schema), SqlParam::Text(table)],
            ),
            (Dialect::Sqlite, None) => (
                format!(
                    "SELECT COUNT(*) AS total FROM pragma_table_info(?) WHERE name IN ({names})"
                ),
                vec![SqlParam::Text(table)],
            ),
            (Dialect::Sqlite, Some(schema)) => (
                format!(
                    "SELECT COUNT(*) AS total FROM pragma_table_info(?, ?) WHERE name IN ({names})"
                ),
                vec![SqlParam::Text(table), SqlParam::Text(schema)],
            ),
        }
    }

    /// What [`detail_columns`](Self::detail_columns) counted means: whether the table has the
    /// API-token columns, or a schema error when it has only some of them.
    pub fn has_detail_columns(&self, count: u64) -> authtoken::Result<bool> {
        self.has_all(count, 4, DETAIL_COLUMNS, "API-token")
    }

    /// What [`client_columns`](Self::client_columns) counted means, as
    /// [`has_detail_columns`](Self::has_detail_columns) says it.
    pub fn has_client_columns(&self, count: u64) -> authtoken::Result<bool> {
        self.has_all(count, 2, CLIENT_COLUMNS, "client")
    }

    fn has_all(&self, count: u64, all: u64, names: &str, group: &str) -> authtoken::Result<bool> {
        match count {
            0 => Ok(false),
            n if n == all => Ok(true),
            n => Err(authtoken::Error::Schema(format!(
                "`{}` has {n} of the {all} {group} columns ({names}): \
                 a migration was applied in part",
                self.table
            ))),
        }
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
        if self.client {
            values.extend([
                SqlParam::OptText(details.user_agent.clone()),
                SqlParam::OptText(details.address.clone()),
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
    fn purge_values(&self, cutoff: DateTime<Utc>, limit: u32) -> Vec<SqlParam> {
        let mut values = self.expired_values(cutoff);
        values.push(SqlParam::Int(limit.into()));
        if self.dialect == Dialect::Sqlite {
            values.extend(self.expired_values(cutoff));
        }
        values
    }

    /// The values of `delete_expired`: the cutoff and `now`, the batch size, and on SQLite the
    /// first two again for the repeated outer condition.
    fn purge_expired_values(
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
    fn any_expired_values(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Vec<SqlParam> {
        let mut values = self.expired_values(cutoff);
        values.extend(self.expired_values(now));
        values
    }

    /// The values of `record_use`: the use, the extension, the key, then the two times its
    /// conditions compare with (each in both text forms on SQLite).
    fn record_use_values(
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
    fn expired_values(&self, cutoff: DateTime<Utc>) -> Vec<SqlParam> {
        match self.dialect {
            Dialect::Sqlite => vec![
                self.timestamp(cutoff),
                SqlParam::Text(cutoff.format(SQLITE_RFC3339_TIMESTAMP).to_string()),
            ],
            _ => vec![SqlParam::Time(cutoff)],
        }
    }
}

/// A statement with the values it binds, in order: what a store runs as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound<'a> {
    /// The statement.
    pub sql: &'a str,
    /// Its values.
    pub values: Vec<SqlParam>,
}

impl Statements {
    /// `delete_created_before` for rows created before `cutoff`, at most `limit` of them.
    pub fn bound_delete_created_before(&self, cutoff: DateTime<Utc>, limit: u32) -> Bound<'_> {
        Bound { sql: &self.delete_created_before, values: self.purge_values(cutoff, limit) }
    }

    /// `count_created_before` for rows created before `cutoff`.
    pub fn bound_count_created_before(&self, cutoff: DateTime<Utc>) -> Bound<'_> {
        Bound { sql: &self.count_created_before, values: self.expired_values(cutoff) }
    }

    /// `delete_expired` at `now` with the strategy's `cutoff`, at most `limit` rows.
    pub fn bound_delete_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Bound<'_> {
        Bound { sql: &self.delete_expired, values: self.purge_expired_values(now, cutoff, limit) }
    }

    /// `count_expired` at `now` with the strategy's `cutoff`.
    pub fn bound_count_expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Bound<'_> {
        Bound { sql: &self.count_expired, values: self.any_expired_values(now, cutoff) }
    }

    /// `record_use` of the row under `token`: used `at`, its expiry moved to `extend_to` if
    /// given, unless it was used since `unless_since`.
    pub fn bound_record_use(
        &self,
        token: &str,
        at: DateTime<Utc>,
        extend_to: Option<DateTime<Utc>>,
        unless_since: DateTime<Utc>,
    ) -> Bound<'_> {
        let values = self.record_use_values(token, at, extend_to, unless_since);
        Bound { sql: &self.record_use, values }
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
