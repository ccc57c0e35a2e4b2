//! The SQL of every store operation ([`authtoken_sql`]), with its values as SeaORM binds them.
//!
//! Rendering at construction keeps query building off the per-request path, and lets the driver
//! reuse one prepared statement per operation (sqlx caches them by SQL text).

use std::ops::Deref;

use authtoken_sql::{self as sql, Dialect, SqlParam};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, Value};

/// Pre-rendered statements for one token table on one backend; the SQL text is
/// [`authtoken_sql::Statements`]'s (reached through `Deref`).
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub backend: DatabaseBackend,
    text: sql::Statements,
}

impl Deref for Statements {
    type Target = sql::Statements;

    fn deref(&self) -> &sql::Statements {
        &self.text
    }
}

impl Statements {
    pub fn new(backend: DatabaseBackend, table: &str, details: bool) -> Self {
        Self { backend, text: sql::Statements::new(dialect(backend), table, details) }
    }

    /// The same statements made causal on a Galera cluster
    /// ([`sql::Statements::with_causal_reads`]).
    pub fn with_causal_reads(&self) -> Self {
        Self { backend: self.backend, text: self.text.with_causal_reads() }
    }

    /// The values of `delete_created_before`.
    pub fn purge_values(&self, cutoff: DateTime<Utc>, limit: u32) -> Vec<Value> {
        values(self.text.purge_values(cutoff, limit))
    }

    /// The values of `delete_expired`.
    pub fn purge_expired_values(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Vec<Value> {
        values(self.text.purge_expired_values(now, cutoff, limit))
    }

    /// The values of `count_expired`.
    pub fn any_expired_values(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Vec<Value> {
        values(self.text.any_expired_values(now, cutoff))
    }

    /// The values of `record_use`.
    pub fn record_use_values(
        &self,
        token: &str,
        at: DateTime<Utc>,
        extend_to: Option<DateTime<Utc>>,
        unless_since: DateTime<Utc>,
    ) -> Vec<Value> {
        values(self.text.record_use_values(token, at, extend_to, unless_since))
    }

    /// The values of `count_created_before`.
    pub fn expired_values(&self, cutoff: DateTime<Utc>) -> Vec<Value> {
        values(self.text.expired_values(cutoff))
    }
}

fn dialect(backend: DatabaseBackend) -> Dialect {
    match backend {
        DatabaseBackend::Postgres => Dialect::Postgres,
        DatabaseBackend::MySql => Dialect::MySql,
        _ => Dialect::Sqlite,
    }
}

/// One value as SeaORM binds it.
pub(crate) fn value(param: SqlParam) -> Value {
    match param {
        SqlParam::Text(text) => text.into(),
        SqlParam::OptText(text) => Value::String(text),
        SqlParam::Time(at) => at.into(),
        SqlParam::OptTime(at) => Value::ChronoDateTimeUtc(at),
        SqlParam::Int(n) => n.into(),
    }
}

pub(crate) fn values(params: Vec<SqlParam>) -> Vec<Value> {
    params.into_iter().map(value).collect()
}
