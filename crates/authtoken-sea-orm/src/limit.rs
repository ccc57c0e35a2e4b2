//! The per-user token limit on SQL: one short transaction per login that locks the user, reads
//! their rows, revokes or refuses, and inserts.
//!
//! How each backend serialises two logins of one user:
//! - PostgreSQL: a transaction-scoped advisory lock on the table and the user id, then the read
//!   at `READ COMMITTED` (a fresh snapshot taken after the lock, so it sees the last holder's
//!   insert);
//! - MySQL/MariaDB: the read is `SELECT … FOR UPDATE` at `REPEATABLE READ`, whose next-key locks
//!   on the user's range of the `user_id` index also bar inserts into it. Two logins of a user
//!   with no rows yet both hold only the gap and deadlock on their inserts; InnoDB rolls one
//!   back and it runs again;
//! - SQLite: `BEGIN IMMEDIATE` takes the database's one write lock before the read.

use authtoken::LimitTokens;
use authtoken::limit::{Liveness, TokenLimit};
use authtoken::store::AccessToken;
use authtoken::{Error, Result};
use authtoken_sql::retrying_conflicts;
use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, IsolationLevel,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::AccessTokenEntity;
use crate::store::{SeaOrmStore, is_serialization_failure, store_error};

/// How one attempt ended, short of a database error.
enum Attempt {
    /// The row is in; these keys were revoked to make room.
    Stored(Vec<String>),
    /// The limit refused the login; nothing changed.
    Refused,
    /// The row or the limit could not be read or decoded (not worth a retry).
    Failed(Error),
}

// On a pool only: each login is a transaction of its own, at the isolation level its lock needs
// (a store bound to a caller's transaction cannot set one there).
impl<E> LimitTokens for SeaOrmStore<E, DatabaseConnection>
where
    E: AccessTokenEntity,
{
    async fn create_within_limit(
        &self,
        row: AccessToken<E::UserId>,
        _expires_at: Option<DateTime<Utc>>,
        limit: TokenLimit,
        live: Liveness,
    ) -> Result<Vec<String>> {
        let attempt = || self.timed(self.limited_insert(&row, limit, &live));
        match retrying_conflicts(attempt, is_serialization_failure).await? {
            Ok(Attempt::Stored(evicted)) => Ok(evicted),
            Ok(Attempt::Refused) => Err(Error::TokenLimitReached),
            Ok(Attempt::Failed(error)) => Err(error),
            Err(error) => Err(store_error(error)),
        }
    }
}

impl<E: AccessTokenEntity> SeaOrmStore<E, DatabaseConnection> {
    /// One attempt, in one transaction: rolled back (by being dropped) on any error.
    async fn limited_insert(
        &self,
        row: &AccessToken<E::UserId>,
        limit: TokenLimit,
        live: &Liveness,
    ) -> Result<Attempt, DbErr> {
        let sql = self.sql();
        let owner = || row.user_id.clone().into();
        let txn = self.connection().begin_with_options(transaction_options(self.backend())).await?;
        if self.backend() == DatabaseBackend::Postgres {
            let key = self.statement(&sql.lock_user, vec![sql.table.clone().into(), owner()]);
            txn.query_one_raw(key).await?;
        }
        let found = txn.query_all_raw(self.statement(&sql.limit_rows, vec![owner()])).await?;
        let rows = match found.iter().map(|r| self.decode(r)).collect::<Result<Vec<_>>>() {
            Ok(rows) => rows,
            Err(error) => return Ok(Attempt::Failed(error)),
        };
        let evicted = match limit.make_room(&rows, live) {
            Ok(evicted) => evicted,
            Err(Error::TokenLimitReached) => {
                txn.rollback().await?;
                return Ok(Attempt::Refused);
            }
            Err(error) => return Ok(Attempt::Failed(error)),
        };
        for key in &evicted {
            let delete = self.statement(&sql.delete, vec![key.as_str().into(), owner()]);
            txn.execute_raw(delete).await?;
        }
        let insert = self.statement(&sql.insert, self.insert_values(row.clone()));
        txn.execute_raw(insert).await?;
        txn.commit().await?;
        Ok(Attempt::Stored(evicted))
    }
}

/// The transaction each backend needs for the lock to be exact (see the module's text).
fn transaction_options(backend: DatabaseBackend) -> TransactionOptions {
    let mut options = TransactionOptions::default();
    match backend {
        DatabaseBackend::Postgres => options.isolation_level = Some(IsolationLevel::ReadCommitted),
        DatabaseBackend::MySql => options.isolation_level = Some(IsolationLevel::RepeatableRead),
        _ => options.sqlite_transaction_mode = Some(SqliteTransactionMode::Immediate),
    }
    options
}
