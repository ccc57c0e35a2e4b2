//! [`SeaOrmRefreshStore`]: refresh tokens in the `refresh_family` and `refresh_token` tables.
//!
//! A rotation is one transaction: it first locks the family's row (`lock_family`, found only
//! while the family lives), which an `end_family` must write, so the two never interleave;
//! then it spends the token (`spend`, one row only if it was unspent: of concurrent rotations,
//! exactly one sees it) and inserts the successor. Ending a family writes `ended_at` first, then
//! reads and deletes the token rows in later statements of the same transaction, which see any
//! rotation that committed while it waited.

use std::marker::PhantomData;
use std::sync::Arc;

use authtoken::Result;
use authtoken::refresh::{RefreshRow, RefreshStore};
use authtoken_sql::{RefreshStatements, retrying_conflicts};
use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, IsolationLevel, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, TryGetable, Value,
};

use crate::binds::{dialect, value};
use crate::store::{is_serialization_failure, store_error};

/// A [`RefreshStore`] on SeaORM: SQLite, PostgreSQL, MySQL/MariaDB, over the tables of
/// `authtoken_migration::CreateRefreshTokenTables`. `Id` is the user id type.
///
/// ```no_run
/// # async fn run(db: sea_orm::DatabaseConnection) {
/// let store = authtoken_sea_orm::SeaOrmRefreshStore::<i64>::new(db);
/// # let _ = store; }
/// ```
pub struct SeaOrmRefreshStore<Id> {
    conn: DatabaseConnection,
    sql: Arc<RefreshStatements>,
    id: PhantomData<fn() -> Id>,
}

impl<Id> SeaOrmRefreshStore<Id> {
    /// A store over `conn`.
    pub fn new(conn: DatabaseConnection) -> Self {
        let sql = Arc::new(RefreshStatements::new(dialect(conn.get_database_backend())));
        Self { conn, sql, id: PhantomData }
    }

    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.conn.get_database_backend(), sql, values)
    }

    fn time(&self, at: DateTime<Utc>) -> Value {
        value(self.sql.timestamp(at))
    }
}

impl<Id> Clone for SeaOrmRefreshStore<Id> {
    fn clone(&self) -> Self {
        Self { conn: self.conn.clone(), sql: Arc::clone(&self.sql), id: PhantomData }
    }
}

impl<Id> std::fmt::Debug for SeaOrmRefreshStore<Id> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmRefreshStore").field("dialect", &self.sql.dialect).finish()
    }
}

impl<Id> SeaOrmRefreshStore<Id>
where
    Id: authtoken::UserId + Into<Value> + TryGetable,
{
    fn decode(row: &QueryResult) -> Result<RefreshRow<Id>> {
        let text = |column: &str| row.try_get::<String>("", column).map_err(store_error);
        Ok(RefreshRow {
            key: text("key")?,
            family: text("family")?,
            user_id: row.try_get("", "user_id").map_err(store_error)?,
            family_started_at: row.try_get("", "family_started_at").map_err(store_error)?,
            issued_at: row.try_get("", "issued_at").map_err(store_error)?,
            access_key: text("access_key")?,
            spent_at: row.try_get("", "spent_at").map_err(store_error)?,
        })
    }

    fn insert_token(&self, row: &RefreshRow<Id>) -> Statement {
        let values = vec![
            row.key.clone().into(),
            row.family.clone().into(),
            row.user_id.clone().into(),
            self.time(row.issued_at),
            row.access_key.clone().into(),
        ];
        self.statement(&self.sql.insert_token, values)
    }

    async fn start(&self, first: &RefreshRow<Id>) -> Result<(), DbErr> {
        let txn = self.conn.begin_with_options(transaction_options(&self.conn)).await?;
        let family = vec![
            first.family.clone().into(),
            first.user_id.clone().into(),
            self.time(first.family_started_at),
        ];
        txn.execute_raw(self.statement(&self.sql.insert_family, family)).await?;
        txn.execute_raw(self.insert_token(first)).await?;
        txn.commit().await
    }

    async fn rotate_once(
        &self,
        presented: &str,
        at: DateTime<Utc>,
        next: &RefreshRow<Id>,
    ) -> Result<bool, DbErr> {
        let txn = self.conn.begin_with_options(transaction_options(&self.conn)).await?;
        let lock = self.statement(&self.sql.lock_family, vec![next.family.clone().into()]);
        if txn.query_one_raw(lock).await?.is_none() {
            txn.rollback().await?;
            return Ok(false);
        }
        let values = vec![self.time(at), presented.into(), next.family.clone().into()];
        if txn.execute_raw(self.statement(&self.sql.spend, values)).await?.rows_affected() != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        txn.execute_raw(self.insert_token(next)).await?;
        txn.commit().await?;
        Ok(true)
    }

    async fn end_once(&self, family: &str, at: DateTime<Utc>) -> Result<Vec<QueryResult>, DbErr> {
        let txn = self.conn.begin_with_options(transaction_options(&self.conn)).await?;
        let end = self.statement(&self.sql.end_family, vec![self.time(at), family.into()]);
        if txn.execute_raw(end).await?.rows_affected() != 1 {
            txn.rollback().await?;
            return Ok(Vec::new());
        }
        let rows =
            txn.query_all_raw(self.statement(&self.sql.family_rows, vec![family.into()])).await?;
        let delete = self.statement(&self.sql.delete_family_tokens, vec![family.into()]);
        txn.execute_raw(delete).await?;
        txn.commit().await?;
        Ok(rows)
    }
}

impl<Id> RefreshStore for SeaOrmRefreshStore<Id>
where
    Id: authtoken::UserId + Into<Value> + TryGetable,
{
    type UserId = Id;

    async fn get(&self, key: &str) -> Result<Option<RefreshRow<Id>>> {
        let statement = self.statement(&self.sql.get, vec![key.into()]);
        match self.conn.query_one_raw(statement).await.map_err(store_error)? {
            Some(row) => Ok(Some(Self::decode(&row)?)),
            None => Ok(None),
        }
    }

    async fn start_family(&self, first: RefreshRow<Id>) -> Result<()> {
        let attempt = || async { Ok(self.start(&first).await) };
        retrying_conflicts(attempt, is_serialization_failure).await?.map_err(store_error)
    }

    async fn rotate(
        &self,
        presented: &str,
        at: DateTime<Utc>,
        next: RefreshRow<Id>,
    ) -> Result<bool> {
        let attempt = || async { Ok(self.rotate_once(presented, at, &next).await) };
        retrying_conflicts(attempt, is_serialization_failure).await?.map_err(store_error)
    }

    async fn end_family(&self, family: &str) -> Result<Vec<RefreshRow<Id>>> {
        let at = Utc::now();
        let attempt = || async { Ok(self.end_once(family, at).await) };
        let rows =
            retrying_conflicts(attempt, is_serialization_failure).await?.map_err(store_error)?;
        rows.iter().map(Self::decode).collect()
    }

    async fn user_rows(&self, user_id: &Id) -> Result<Vec<RefreshRow<Id>>> {
        let statement = self.statement(&self.sql.user_rows, vec![user_id.clone().into()]);
        let rows = self.conn.query_all_raw(statement).await.map_err(store_error)?;
        rows.iter().map(Self::decode).collect()
    }

    async fn family_of_access(&self, access_key: &str) -> Result<Option<String>> {
        let statement = self.statement(&self.sql.family_of_access, vec![access_key.into()]);
        match self.conn.query_one_raw(statement).await.map_err(store_error)? {
            Some(row) => Ok(Some(row.try_get_by_index::<String>(0).map_err(store_error)?)),
            None => Ok(None),
        }
    }
}

/// Each backend's transaction: SQLite takes its write lock at `BEGIN` (a later upgrade could
/// deadlock two rotations); the others lock the family's row with the first `UPDATE`.
fn transaction_options(conn: &DatabaseConnection) -> TransactionOptions {
    let mut options = TransactionOptions::default();
    match conn.get_database_backend() {
        DatabaseBackend::Postgres => options.isolation_level = Some(IsolationLevel::ReadCommitted),
        DatabaseBackend::MySql => options.isolation_level = Some(IsolationLevel::ReadCommitted),
        _ => options.sqlite_transaction_mode = Some(SqliteTransactionMode::Immediate),
    }
    options
}
