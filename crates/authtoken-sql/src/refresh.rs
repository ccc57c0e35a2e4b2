//! [`RefreshStatements`]: the refresh-token tables' statements on one dialect.

use chrono::{DateTime, Utc};

use crate::dialect::placeholder;
use crate::{Dialect, SQLITE_TIMESTAMP, SqlParam};

/// Every statement of the refresh-token tables (`refresh_family`, `refresh_token`, made by
/// `authtoken_migration::CreateRefreshTokenTables`) on one dialect. The comment beside each
/// field lists what it binds, in order.
///
/// ```
/// use authtoken_sql::{Dialect, RefreshStatements};
/// let sql = RefreshStatements::new(Dialect::Postgres);
/// assert!(sql.spend.contains("spent_at IS NULL"));
/// ```
#[derive(Debug, Clone)]
pub struct RefreshStatements {
    /// The dialect they are written in.
    pub dialect: Dialect,
    /// A token's row with its family's start, if the family has not ended: the key.
    pub get: String,
    /// A new family: its id, the user id, the start.
    pub insert_family: String,
    /// A new token: key, family, user id, issued at, access key.
    pub insert_token: String,
    /// Reads a live family's id (as `family`), locking its row for the rest of the transaction
    /// (`FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` holds its one write lock already): the id.
    pub lock_family: String,
    /// Spends a token if unspent (1 row if it was): spent at, key, family.
    pub spend: String,
    /// Ends a live family: ended at, id.
    pub end_family: String,
    /// Every token row of a family, with the family's start: the id.
    pub family_rows: String,
    /// Deletes a family's token rows: the id.
    pub delete_family_tokens: String,
    /// The live family of an access token: the access key.
    pub family_of_access: String,
    /// Every token row of a user's live families: the user id.
    pub user_rows: String,
}

impl RefreshStatements {
    /// The statements on `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        let p = |n: usize| placeholder(dialect, n);
        // `key` is a reserved word on MySQL: every name is quoted.
        let q = |name: &str| crate::quote(dialect, name);
        let (key, family) = (q("key"), q("family"));
        let columns = format!(
            "t.{key}, t.{family}, t.user_id, f.started_at AS family_started_at, t.issued_at, \
             t.access_key, t.spent_at"
        );
        let joined = format!("refresh_token t JOIN refresh_family f ON f.id = t.{family}");
        Self {
            dialect,
            get: format!(
                "SELECT {columns} FROM {joined} WHERE t.{key} = {} AND f.ended_at IS NULL",
                p(1)
            ),
            insert_family: format!(
                "INSERT INTO refresh_family (id, user_id, started_at) VALUES ({}, {}, {})",
                p(1),
                p(2),
                p(3)
            ),
            insert_token: format!(
                "INSERT INTO refresh_token ({key}, {family}, user_id, issued_at, access_key) \
                 VALUES ({}, {}, {}, {}, {})",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5)
            ),
            // A locking read, not a no-op UPDATE: MySQL counts an UPDATE that changes nothing as
            // no row at all.
            lock_family: match dialect {
                Dialect::Sqlite => {
                    format!(
                        "SELECT id AS {family} FROM refresh_family WHERE id = ? AND ended_at IS NULL"
                    )
                }
                _ => format!(
                    "SELECT id AS {family} FROM refresh_family WHERE id = {} AND ended_at IS NULL \
                     FOR UPDATE",
                    p(1)
                ),
            },
            spend: format!(
                "UPDATE refresh_token SET spent_at = {} WHERE {key} = {} AND {family} = {} \
                 AND spent_at IS NULL",
                p(1),
                p(2),
                p(3)
            ),
            end_family: format!(
                "UPDATE refresh_family SET ended_at = {} WHERE id = {} AND ended_at IS NULL",
                p(1),
                p(2)
            ),
            family_rows: format!("SELECT {columns} FROM {joined} WHERE t.{family} = {}", p(1)),
            delete_family_tokens: format!("DELETE FROM refresh_token WHERE {family} = {}", p(1)),
            family_of_access: format!(
                "SELECT t.{family} FROM {joined} WHERE t.access_key = {} AND f.ended_at IS NULL",
                p(1)
            ),
            user_rows: format!(
                "SELECT {columns} FROM {joined} WHERE f.user_id = {} AND f.ended_at IS NULL",
                p(1)
            ),
        }
    }

    /// A time as this dialect stores it.
    pub fn timestamp(&self, at: DateTime<Utc>) -> SqlParam {
        match self.dialect {
            Dialect::Sqlite => SqlParam::Text(at.format(SQLITE_TIMESTAMP).to_string()),
            _ => SqlParam::Time(at),
        }
    }
}
