//! The SQL types of the token table, the same on every database: a [`table!`](diesel::table)
//! written with them serves SQLite, PostgreSQL and MySQL/MariaDB alike.
//!
//! - [`TokenTime`]: a UTC time, `timestamptz` on PostgreSQL, `DATETIME(6)` on MySQL/MariaDB,
//!   text on SQLite (`2026-01-01 12:00:00.000000`, the form SQLAlchemy writes; RFC 3339 text,
//!   as sqlx writes it, reads too). Rust: `DateTime<Utc>`.
//! - [`Uuid`]: a UUID, `uuid` on PostgreSQL, its 16 bytes elsewhere (`BINARY(16)` on MySQL, a
//!   blob on SQLite), as SeaORM stores it. Rust: `uuid::Uuid`.
//! - `Integer`, `BigInt`, `Text`: Diesel's own, re-exported here so that one `use` covers a
//!   token table.

#[cfg(any(feature = "sqlite", feature = "mysql"))]
use chrono::NaiveDateTime;
use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql};
use diesel::query_builder::QueryId;
#[cfg(any(feature = "sqlite", feature = "mysql"))]
use diesel::serialize::IsNull;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::SqlType;

pub use diesel::sql_types::{BigInt, Integer, Nullable, Text};

/// A UTC time; see the [module](self) for how each database keeps it.
#[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
#[cfg_attr(feature = "postgres", diesel(postgres_type(oid = 1184, array_oid = 1185)))]
#[cfg_attr(feature = "mysql", diesel(mysql_type(name = "DateTime")))]
#[cfg_attr(feature = "sqlite", diesel(sqlite_type(name = "Text")))]
pub struct TokenTime;

/// A UUID; see the [module](self) for how each database keeps it.
#[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
#[cfg_attr(feature = "postgres", diesel(postgres_type(oid = 2950, array_oid = 2951)))]
#[cfg_attr(feature = "mysql", diesel(mysql_type(name = "Blob")))]
#[cfg_attr(feature = "sqlite", diesel(sqlite_type(name = "Binary")))]
pub struct Uuid;

/// A SQL type a `user_id` column may have, and the Rust id it holds: [`Integer`] (`i32`),
/// [`BigInt`] (`i64`), [`Text`] (`String`) or [`Uuid`] (`uuid::Uuid`).
pub trait UserIdSql:
    SqlType + diesel::sql_types::SingleValue + QueryId + Default + Send + Sync + 'static
{
    /// The id as Rust holds it.
    type Id: authtoken::UserId;
    /// SQLite's storage class for such an id (`typeof(user_id)`): SQLite converts on read
    /// without an error (a blob read as an integer is 0), so the table check compares it.
    #[doc(hidden)]
    const SQLITE_STORAGE: &'static str;
}

impl UserIdSql for Integer {
    type Id = i32;
    const SQLITE_STORAGE: &'static str = "integer";
}

impl UserIdSql for BigInt {
    type Id = i64;
    const SQLITE_STORAGE: &'static str = "integer";
}

impl UserIdSql for Text {
    type Id = String;
    const SQLITE_STORAGE: &'static str = "text";
}

impl UserIdSql for Uuid {
    type Id = uuid::Uuid;
    const SQLITE_STORAGE: &'static str = "blob";
}

/// A text time on SQLite: ours, or RFC 3339 (with `T`, with or without an offset).
#[cfg(feature = "sqlite")]
pub(crate) fn parse_sqlite_time(text: &str) -> deserialize::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Ok(at.with_timezone(&Utc));
    }
    for form in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, form) {
            return Ok(at.and_utc());
        }
    }
    Err(format!("`{text}` is not a timestamp").into())
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use diesel::sql_types::Binary;
    use diesel::sqlite::{Sqlite, SqliteValue};

    use super::*;

    impl ToSql<TokenTime, Sqlite> for DateTime<Utc> {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
            out.set_value(self.format(authtoken_sql::SQLITE_TIMESTAMP).to_string());
            Ok(IsNull::No)
        }
    }

    impl FromSql<TokenTime, Sqlite> for DateTime<Utc> {
        fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
            let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
            parse_sqlite_time(&text)
        }
    }

    impl ToSql<Uuid, Sqlite> for uuid::Uuid {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
            out.set_value(self.as_bytes().as_slice());
            Ok(IsNull::No)
        }
    }

    impl FromSql<Uuid, Sqlite> for uuid::Uuid {
        fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
            let bytes = <Vec<u8> as FromSql<Binary, Sqlite>>::from_sql(value)?;
            Ok(uuid::Uuid::from_slice(&bytes)?)
        }
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use std::io::Write;

    use diesel::mysql::{Mysql, MysqlValue};
    use diesel::sql_types::{Blob, Datetime};

    use super::*;

    impl ToSql<TokenTime, Mysql> for DateTime<Utc> {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
            let naive = self.naive_utc();
            <NaiveDateTime as ToSql<Datetime, Mysql>>::to_sql(&naive, &mut out.reborrow())
        }
    }

    impl FromSql<TokenTime, Mysql> for DateTime<Utc> {
        fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
            Ok(<NaiveDateTime as FromSql<Datetime, Mysql>>::from_sql(value)?.and_utc())
        }
    }

    impl ToSql<Uuid, Mysql> for uuid::Uuid {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
            out.write_all(self.as_bytes())?;
            Ok(IsNull::No)
        }
    }

    impl FromSql<Uuid, Mysql> for uuid::Uuid {
        fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
            let bytes = <Vec<u8> as FromSql<Blob, Mysql>>::from_sql(value)?;
            Ok(uuid::Uuid::from_slice(&bytes)?)
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use diesel::pg::{Pg, PgValue};
    use diesel::sql_types::Timestamptz;

    use super::*;

    impl ToSql<TokenTime, Pg> for DateTime<Utc> {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(self, out)
        }
    }

    impl FromSql<TokenTime, Pg> for DateTime<Utc> {
        fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
            <DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(value)
        }
    }

    impl ToSql<Uuid, Pg> for uuid::Uuid {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            <uuid::Uuid as ToSql<diesel::sql_types::Uuid, Pg>>::to_sql(self, out)
        }
    }

    impl FromSql<Uuid, Pg> for uuid::Uuid {
        fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
            <uuid::Uuid as FromSql<diesel::sql_types::Uuid, Pg>>::from_sql(value)
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    #[test]
    fn sqlite_reads_every_text_form_a_row_may_hold() {
        let at: DateTime<Utc> = "2026-01-01T12:00:00.000001Z".parse().unwrap();
        for text in [
            "2026-01-01 12:00:00.000001",
            "2026-01-01T12:00:00.000001+00:00",
            "2026-01-01T12:00:00.000001Z",
            "2026-01-01T12:00:00.000001",
            "2026-01-01 12:00:00.000001+00:00",
        ] {
            assert_eq!(parse_sqlite_time(text).unwrap(), at, "{text}");
        }
        assert!(parse_sqlite_time("yesterday").is_err());
    }
}
