//! [`SeaOrmStore`]: the storage contract on any SeaORM connection.

use std::marker::PhantomData;
use std::num::NonZeroU32;

use authtoken::store::{AccessToken, AccessTokenStore, AccessTokenUserStore, RowWithUser};
use authtoken::{Error, Result, User};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, ModelTrait, QueryFilter, QueryOrder, QueryTrait, Related, SqlErr,
};

use crate::AccessTokenEntity;
use crate::access_token;

/// Token rows in the table of entity `E` (any entity
/// [`access_token_entity!`](crate::access_token_entity) made), over a SeaORM connection `C`.
///
/// `C` is a [`DatabaseConnection`] (a pool) by default; a
/// [`DatabaseExecutor`](sea_orm::DatabaseExecutor) made from a caller's transaction runs every
/// call inside that transaction instead.
pub struct SeaOrmStore<E = access_token::Entity, C = DatabaseConnection> {
    conn: C,
    entity: PhantomData<fn() -> E>,
}

impl<E: AccessTokenEntity, C: ConnectionTrait> SeaOrmStore<E, C> {
    /// A store over `conn`.
    pub fn new(conn: C) -> Self {
        Self { conn, entity: PhantomData }
    }

    /// The connection the store runs its statements on.
    pub fn connection(&self) -> &C {
        &self.conn
    }

    fn by_token(token: &str) -> sea_orm::Select<E> {
        E::find().filter(E::token_column().eq(token))
    }

    fn live(query: sea_orm::Select<E>, not_before: Option<DateTime<Utc>>) -> sea_orm::Select<E> {
        match not_before {
            Some(oldest) => query.filter(E::created_at_column().gte(oldest)),
            None => query,
        }
    }
}

impl<E, C: Clone> Clone for SeaOrmStore<E, C> {
    fn clone(&self) -> Self {
        Self { conn: self.conn.clone(), entity: PhantomData }
    }
}

impl<E, C> std::fmt::Debug for SeaOrmStore<E, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmStore").field("table", &std::any::type_name::<E>()).finish()
    }
}

/// A database error as the core crate reports it.
fn store_error(error: DbErr) -> Error {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::DuplicateToken,
        _ => Error::store(error),
    }
}

impl<E, C> AccessTokenStore for SeaOrmStore<E, C>
where
    E: AccessTokenEntity,
    C: ConnectionTrait + Send + Sync,
{
    type UserId = E::UserId;

    async fn get(
        &self,
        token: &str,
        not_before: Option<DateTime<Utc>>,
    ) -> Result<Option<AccessToken<E::UserId>>> {
        let row = Self::live(Self::by_token(token), not_before)
            .one(&self.conn)
            .await
            .map_err(store_error)?;
        Ok(row.map(E::into_access_token))
    }

    async fn create(&self, row: AccessToken<E::UserId>) -> Result<()> {
        E::insert(E::active_model(row))
            .exec_without_returning(&self.conn)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn update(&self, row: AccessToken<E::UserId>) -> Result<bool> {
        let result = E::update_many()
            .col_expr(E::user_id_column(), Expr::value(row.user_id))
            .col_expr(E::created_at_column(), Expr::value(row.created_at))
            .filter(E::token_column().eq(row.token))
            .exec(&self.conn)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete(&self, token: &str, owner: &E::UserId) -> Result<bool> {
        let result = E::delete_many()
            .filter(E::token_column().eq(token))
            .filter(E::user_id_column().eq(owner.clone()))
            .exec(&self.conn)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_all_of_user(&self, owner: &E::UserId) -> Result<u64> {
        let result = E::delete_many()
            .filter(E::user_id_column().eq(owner.clone()))
            .exec(&self.conn)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected)
    }

    async fn list_of_user(&self, owner: &E::UserId) -> Result<Vec<AccessToken<E::UserId>>> {
        let rows = E::find()
            .filter(E::user_id_column().eq(owner.clone()))
            .order_by_asc(E::created_at_column())
            .order_by_asc(E::token_column())
            .all(&self.conn)
            .await
            .map_err(store_error)?;
        Ok(rows.into_iter().map(E::into_access_token).collect())
    }

    async fn delete_created_before(&self, cutoff: DateTime<Utc>, limit: NonZeroU32) -> Result<u64> {
        let expired = E::created_at_column().lt(cutoff);
        let statement = match self.conn.get_database_backend() {
            // MySQL takes ORDER BY and LIMIT on DELETE itself, but not LIMIT in an IN subquery.
            DatabaseBackend::MySql => E::delete_many()
                .filter(expired)
                .into_query()
                .order_by(E::created_at_column(), Order::Asc)
                .limit(u64::from(limit.get()))
                .to_owned(),
            // PostgreSQL has no DELETE ... LIMIT, and SQLite only when compiled with it.
            _ => {
                let oldest = Query::select()
                    .column(E::token_column())
                    .from(E::default())
                    .and_where(expired)
                    .order_by(E::created_at_column(), Order::Asc)
                    .limit(u64::from(limit.get()))
                    .to_owned();
                E::delete_many().filter(E::token_column().in_subquery(oldest)).into_query()
            }
        };
        let result = self.conn.execute(&statement).await.map_err(store_error)?;
        Ok(result.rows_affected())
    }
}

impl<E, C, M> AccessTokenUserStore<M> for SeaOrmStore<E, C>
where
    E: AccessTokenEntity + Related<M::Entity>,
    C: ConnectionTrait + Send + Sync,
    M: ModelTrait + FromQueryResult + User<Id = E::UserId>,
    M::Entity: EntityTrait<Model = M>,
{
    async fn get_with_user(
        &self,
        token: &str,
        not_before: Option<DateTime<Utc>>,
    ) -> Result<Option<RowWithUser<E::UserId, M>>> {
        let found = Self::live(Self::by_token(token), not_before)
            .find_also_related(M::Entity::default())
            .one(&self.conn)
            .await
            .map_err(store_error)?;
        Ok(found.map(|(row, user)| (E::into_access_token(row), user)))
    }
}
