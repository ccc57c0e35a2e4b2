//! The values of [`authtoken_sql`]'s statements as SeaORM binds them, and the dialect of a
//! SeaORM backend.

use authtoken_sql::{Dialect, SqlParam};
use sea_orm::{DatabaseBackend, Value};

/// The SQL dialect of a SeaORM backend.
pub(crate) fn dialect(backend: DatabaseBackend) -> Dialect {
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

pub(crate) fn as_values(params: Vec<SqlParam>) -> Vec<Value> {
    params.into_iter().map(value).collect()
}
