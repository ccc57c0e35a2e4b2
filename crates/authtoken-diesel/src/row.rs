//! A token row as the store's raw SQL returns it.

use authtoken::refresh::RefreshRow;
use authtoken::store::{AccessToken, TokenDetails};
use authtoken_sql::split_scopes;
use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, QueryableByName};
use diesel::row::{NamedRow, Row};

use crate::sql_types::{Nullable, Text, TokenTime, UserIdSql};

/// One row of the token table, its user id of SQL type `S`; the API-token columns and the
/// client's when the statement selected them.
#[doc(hidden)]
pub struct TokenRow<S: UserIdSql>(pub(crate) AccessToken<S::Id>);

impl<S, DB> QueryableByName<DB> for TokenRow<S>
where
    S: UserIdSql,
    DB: Backend,
    String: FromSql<Text, DB>,
    Option<String>: FromSql<Nullable<Text>, DB>,
    S::Id: FromSql<S, DB>,
    DateTime<Utc>: FromSql<TokenTime, DB>,
    Option<DateTime<Utc>>: FromSql<Nullable<TokenTime>, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        let mut token = AccessToken::new(
            NamedRow::get::<Text, String>(row, "token")?,
            NamedRow::get::<S, S::Id>(row, "user_id")?,
            NamedRow::get::<TokenTime, DateTime<Utc>>(row, "created_at")?,
        );
        if Row::get(row, "expires_at").is_some() {
            let time =
                |name| NamedRow::get::<Nullable<TokenTime>, Option<DateTime<Utc>>>(row, name);
            let text = |name| NamedRow::get::<Nullable<Text>, Option<String>>(row, name);
            token.details = TokenDetails {
                expires_at: time("expires_at")?,
                name: text("name")?,
                scopes: split_scopes(text("scopes")?.as_deref()),
                last_used_at: time("last_used_at")?,
                ..TokenDetails::default()
            };
        }
        if Row::get(row, "user_agent").is_some() {
            let text = |name| NamedRow::get::<Nullable<Text>, Option<String>>(row, name);
            token.details.user_agent = text("user_agent")?;
            token.details.address = text("address")?;
        }
        Ok(TokenRow(token))
    }
}

/// The key and the owner of a token row, and nothing else: what the table check reads, so
/// that one row with a garbage time stops no command that never needs that time.
#[doc(hidden)]
pub struct OwnerRowOf<S>(std::marker::PhantomData<S>);

impl<S, DB> QueryableByName<DB> for OwnerRowOf<S>
where
    S: UserIdSql,
    DB: Backend,
    String: FromSql<Text, DB>,
    S::Id: FromSql<S, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        NamedRow::get::<Text, String>(row, "token")?;
        NamedRow::get::<S, S::Id>(row, "user_id")?;
        Ok(OwnerRowOf(std::marker::PhantomData))
    }
}

/// The one row of a `SELECT COUNT(*) AS total`.
#[doc(hidden)]
#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub total: i64,
}

/// One refresh token's row, joined with its family's start, its user id of SQL type `S`.
#[doc(hidden)]
pub struct RefreshRowOf<S: UserIdSql>(pub(crate) RefreshRow<S::Id>);

impl<S, DB> QueryableByName<DB> for RefreshRowOf<S>
where
    S: UserIdSql,
    DB: Backend,
    String: FromSql<Text, DB>,
    S::Id: FromSql<S, DB>,
    DateTime<Utc>: FromSql<TokenTime, DB>,
    Option<DateTime<Utc>>: FromSql<Nullable<TokenTime>, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        let text = |name| NamedRow::get::<Text, String>(row, name);
        let time = |name| NamedRow::get::<TokenTime, DateTime<Utc>>(row, name);
        Ok(RefreshRowOf(RefreshRow {
            key: text("key")?,
            family: text("family")?,
            user_id: NamedRow::get::<S, S::Id>(row, "user_id")?,
            family_started_at: time("family_started_at")?,
            issued_at: time("issued_at")?,
            access_key: text("access_key")?,
            spent_at: NamedRow::get::<Nullable<TokenTime>, Option<DateTime<Utc>>>(row, "spent_at")?,
        }))
    }
}

/// A family's id, as the statements that find one name it.
#[doc(hidden)]
#[derive(QueryableByName)]
pub struct FamilyId {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub family: String,
}

/// The one row of a replica's freshness probe (`authtoken_sql::FRESHNESS_PROBE`).
#[doc(hidden)]
#[derive(QueryableByName)]
pub struct Fresh {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    pub authtoken_replica_fresh: Option<bool>,
}
