//! [`DieselRefreshStore`]: refresh tokens in the tables of `migrations/refresh/`, on the same
//! pool and with the same statements ([`RefreshStatements`]) as the SeaORM store, so that both
//! read and write the same rows.
//!
//! A rotation is one transaction (the per-user limit's: `READ COMMITTED` on PostgreSQL,
//! `REPEATABLE READ` on MySQL/MariaDB, `BEGIN IMMEDIATE` on SQLite) that locks the family's row
//! (`SELECT … FOR UPDATE`), spends the token only if it is unspent and inserts the successor.
//! Ending a family marks it ended first, then reads and deletes its tokens, in one transaction.

use std::future::Future;
use std::sync::Arc;

use authtoken::Result;
use authtoken::refresh::{RefreshRow, RefreshStore};
use authtoken_sql::{RefreshStatements, SqlParam, retrying_conflicts};
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, TransactionManager};

use crate::connection::IdOn;
use crate::query::StoreQuery;
use crate::store::{DieselStore, is_serialization_failure, store_error};
use crate::table::{AccessTokenTable, IdOf};

/// Refresh tokens beside a [`DieselStore`]'s access tokens, on its pool and under its timeout;
/// `T` gives the user id's type.
///
/// ```no_run
/// # #[cfg(feature = "postgres")] async fn run() -> authtoken::Result<()> {
/// mod schema {
///     authtoken_diesel::access_token_table!(access_token, user_id = Uuid);
/// }
/// use authtoken::refresh::{RefreshPolicy, RefreshStrategy};
/// use authtoken_diesel::{AsyncPgConnection, DieselRefreshStore, DieselStore};
///
/// let pool = authtoken_diesel::connect::<AsyncPgConnection>("postgres://localhost/app", 16).await?;
/// let store = DieselStore::<schema::access_token::table, AsyncPgConnection>::new(pool);
/// let refresh = DieselRefreshStore::new(&store);
/// let access = authtoken::DatabaseStrategy::new(store, Some(std::time::Duration::from_secs(900)))?;
/// let tokens = RefreshStrategy::new(access, refresh, RefreshPolicy::default())?;
/// # Ok(()) }
/// ```
pub struct DieselRefreshStore<T, C: crate::StoreConnection> {
    store: DieselStore<T, C>,
    sql: Arc<RefreshStatements>,
}

impl<T: AccessTokenTable, C: crate::StoreConnection> DieselRefreshStore<T, C> {
    /// Refresh tokens on `store`'s pool, under its timeout.
    pub fn new(store: &DieselStore<T, C>) -> Self {
        Self { store: store.clone(), sql: Arc::new(RefreshStatements::new(C::DIALECT)) }
    }
}

impl<T: AccessTokenTable, C: crate::StoreConnection> Clone for DieselRefreshStore<T, C> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone(), sql: Arc::clone(&self.sql) }
    }
}

impl<T, C: crate::StoreConnection> std::fmt::Debug for DieselRefreshStore<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselRefreshStore").field("dialect", &self.sql.dialect).finish()
    }
}

impl<T, C> DieselRefreshStore<T, C>
where
    T: AccessTokenTable,
    C: IdOn<T::UserIdSql>,
{
    fn text(&self, sql: &str, values: &[&str]) -> StoreQuery<T::UserIdSql> {
        let values = values.iter().map(|v| SqlParam::Text((*v).to_owned())).collect();
        StoreQuery::new(sql).bind_all(values)
    }

    fn insert_token(&self, row: &RefreshRow<IdOf<T>>) -> StoreQuery<T::UserIdSql> {
        StoreQuery::new(&self.sql.insert_token)
            .bind_all(vec![SqlParam::Text(row.key.clone()), SqlParam::Text(row.family.clone())])
            .bind_id(row.user_id.clone())
            .bind_all(vec![
                self.sql.timestamp(row.issued_at),
                SqlParam::Text(row.access_key.clone()),
            ])
    }

    /// `steps` in one locking transaction, committed when they answer `Ok(true)` (or rows),
    /// rolled back otherwise; deadlocks and lost serializations run it again.
    async fn in_transaction<R, F, Fut>(&self, steps: F) -> Result<R>
    where
        F: Fn(C::Pooled) -> Fut,
        Fut: Future<Output = (C::Pooled, QueryResult<(bool, R)>)>,
    {
        let attempt = || async {
            let mut conn = self.store.conn().await?;
            if let Err(error) = self.store.bounded(conn.begin_locking_transaction()).await? {
                return Ok(Err(error));
            }
            let (mut conn, outcome) = self.store.bounded(steps(conn)).await?;
            let ended = match &outcome {
                Ok((true, _)) => {
                    <C as AsyncConnection>::TransactionManager::commit_transaction(&mut *conn).await
                }
                // A failed rollback leaves the connection broken, and the pool drops it.
                _ => {
                    drop(
                        <C as AsyncConnection>::TransactionManager::rollback_transaction(
                            &mut *conn,
                        )
                        .await,
                    );
                    Ok(())
                }
            };
            Ok(ended.and(outcome))
        };
        let (_, answer) =
            retrying_conflicts(attempt, is_serialization_failure).await?.map_err(store_error)?;
        Ok(answer)
    }
}

impl<T, C> RefreshStore for DieselRefreshStore<T, C>
where
    T: AccessTokenTable,
    C: IdOn<T::UserIdSql>,
{
    type UserId = IdOf<T>;

    async fn get(&self, key: &str) -> Result<Option<RefreshRow<IdOf<T>>>> {
        let mut conn = self.store.conn().await?;
        let query = self.text(&self.sql.get, &[key]);
        let rows = self.store.bounded(conn.refresh_rows(query)).await?.map_err(store_error)?;
        Ok(rows.into_iter().next().map(|row| row.0))
    }

    async fn start_family(&self, first: RefreshRow<IdOf<T>>) -> Result<()> {
        self.in_transaction(|mut conn| {
            let family = StoreQuery::new(&self.sql.insert_family)
                .bind_all(vec![SqlParam::Text(first.family.clone())])
                .bind_id(first.user_id.clone())
                .bind_all(vec![self.sql.timestamp(first.family_started_at)]);
            let token = self.insert_token(&first);
            async move {
                let outcome = async {
                    conn.run(family).await?;
                    conn.run(token).await?;
                    Ok((true, ()))
                }
                .await;
                (conn, outcome)
            }
        })
        .await
    }

    async fn rotate(
        &self,
        presented: &str,
        at: DateTime<Utc>,
        next: RefreshRow<IdOf<T>>,
    ) -> Result<bool> {
        self.in_transaction(|mut conn| {
            let lock = self.text(&self.sql.lock_family, &[&next.family]);
            let spend = StoreQuery::new(&self.sql.spend).bind_all(vec![
                self.sql.timestamp(at),
                SqlParam::Text(presented.to_owned()),
                SqlParam::Text(next.family.clone()),
            ]);
            let insert = self.insert_token(&next);
            async move {
                let outcome = async {
                    if conn.family_ids(lock).await?.is_empty() || conn.run(spend).await? != 1 {
                        return Ok((false, false));
                    }
                    conn.run(insert).await?;
                    Ok((true, true))
                }
                .await;
                (conn, outcome)
            }
        })
        .await
    }

    async fn end_family(&self, family: &str) -> Result<Vec<RefreshRow<IdOf<T>>>> {
        let at = Utc::now();
        self.in_transaction(|mut conn| {
            let end = StoreQuery::new(&self.sql.end_family)
                .bind_all(vec![self.sql.timestamp(at), SqlParam::Text(family.to_owned())]);
            let rows = self.text(&self.sql.family_rows, &[family]);
            let delete = self.text(&self.sql.delete_family_tokens, &[family]);
            async move {
                let outcome = async {
                    if conn.run(end).await? != 1 {
                        return Ok((false, Vec::new()));
                    }
                    let found = conn.refresh_rows(rows).await?;
                    conn.run(delete).await?;
                    Ok((true, found.into_iter().map(|row| row.0).collect()))
                }
                .await;
                (conn, outcome)
            }
        })
        .await
    }

    async fn user_rows(&self, user_id: &IdOf<T>) -> Result<Vec<RefreshRow<IdOf<T>>>> {
        let mut conn = self.store.conn().await?;
        let query = StoreQuery::new(&self.sql.user_rows).bind_id(user_id.clone());
        let rows = self.store.bounded(conn.refresh_rows(query)).await?.map_err(store_error)?;
        Ok(rows.into_iter().map(|row| row.0).collect())
    }

    async fn family_of_access(&self, access_key: &str) -> Result<Option<String>> {
        let mut conn = self.store.conn().await?;
        let query = self.text(&self.sql.family_of_access, &[access_key]);
        let found = self.store.bounded(conn.family_ids(query)).await?.map_err(store_error)?;
        Ok(found.into_iter().next())
    }
}
