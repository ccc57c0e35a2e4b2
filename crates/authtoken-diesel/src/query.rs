//! [`StoreQuery`]: one of the store's statements with its values, as a Diesel query that the
//! connection may prepare once and reuse.
//!
//! Diesel's own `sql_query` marks itself unsafe to cache, so each run would prepare its
//! statement again: one more round trip per read on PostgreSQL and MySQL. The store's SQL is
//! fixed text with placeholders, so it is safe to cache, and Diesel's statement cache keys it by
//! that text.

use authtoken_sql::SqlParam;
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Untyped};

use crate::sql_types::{Nullable, Text, TokenTime, UserIdSql};

/// A statement of [`authtoken_sql`] with its values, for a table whose user ids have SQL type
/// `S`.
#[doc(hidden)]
pub struct StoreQuery<S: UserIdSql> {
    sql: String,
    values: Vec<Value<S::Id>>,
}

/// One value, in the order the statement's placeholders name them.
enum Value<Id> {
    Param(SqlParam),
    UserId(Id),
}

impl<S: UserIdSql> StoreQuery<S> {
    /// `sql` (placeholders `$1`, `$2`… or `?`), no values yet.
    pub(crate) fn new(sql: &str) -> Self {
        Self { sql: sql.to_owned(), values: Vec::new() }
    }

    /// Adds the next values.
    pub(crate) fn bind_all(mut self, values: Vec<SqlParam>) -> Self {
        self.values.extend(values.into_iter().map(Value::Param));
        self
    }

    /// Adds a user id as the next value.
    pub(crate) fn bind_id(mut self, id: S::Id) -> Self {
        self.values.push(Value::UserId(id));
        self
    }
}

/// The next placeholder in `sql`: where it starts, how long it is, and which value it names
/// (`$n`: value n; `?`: `None`, the next one).
fn next_placeholder(sql: &str) -> Option<(usize, usize, Option<usize>)> {
    let start = sql.find(['$', '?'])?;
    if sql[start..].starts_with('?') {
        return Some((start, 1, None));
    }
    let digits = sql[start + 1..].bytes().take_while(u8::is_ascii_digit).count();
    let number: usize = sql[start + 1..start + 1 + digits].parse().ok()?;
    Some((start, 1 + digits, Some(number.checked_sub(1)?)))
}

impl<S: UserIdSql> QueryId for StoreQuery<S> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<S: UserIdSql> Query for StoreQuery<S> {
    type SqlType = Untyped;
}

impl<S, DB> QueryFragment<DB> for StoreQuery<S>
where
    S: UserIdSql,
    DB: Backend + HasSqlType<Text> + HasSqlType<TokenTime> + HasSqlType<BigInt> + HasSqlType<S>,
    String: ToSql<Text, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    DateTime<Utc>: ToSql<TokenTime, DB>,
    Option<DateTime<Utc>>: ToSql<Nullable<TokenTime>, DB>,
    i64: ToSql<BigInt, DB>,
    S::Id: ToSql<S, DB>,
{
    // Each placeholder becomes a bind of the backend's own (PostgreSQL renumbers them in order,
    // so a value a statement names twice is bound twice).
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut rest = self.sql.as_str();
        let mut next = 0;
        while let Some((start, len, named)) = next_placeholder(rest) {
            out.push_sql(&rest[..start]);
            let index = named.unwrap_or(next);
            next = index + 1;
            let value = self.values.get(index).ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(
                    format!("no value for placeholder {} of `{}`", index + 1, self.sql).into(),
                )
            })?;
            match value {
                Value::Param(SqlParam::Text(text)) => out.push_bind_param::<Text, _>(text)?,
                Value::Param(SqlParam::OptText(text)) => {
                    out.push_bind_param::<Nullable<Text>, _>(text)?
                }
                Value::Param(SqlParam::Time(at)) => out.push_bind_param::<TokenTime, _>(at)?,
                Value::Param(SqlParam::OptTime(at)) => {
                    out.push_bind_param::<Nullable<TokenTime>, _>(at)?
                }
                Value::Param(SqlParam::Int(n)) => out.push_bind_param::<BigInt, _>(n)?,
                Value::UserId(id) => out.push_bind_param::<S, _>(id)?,
            }
            rest = &rest[start + len..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_order() {
        assert_eq!(next_placeholder("a = $12 AND"), Some((4, 3, Some(11))));
        assert_eq!(next_placeholder("a = ? AND"), Some((4, 1, None)));
        assert_eq!(next_placeholder("no placeholder"), None);
        assert_eq!(next_placeholder("$0"), None, "PostgreSQL counts from 1");
    }
}
