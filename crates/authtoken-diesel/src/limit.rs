//! The per-user token limit: one short transaction per login that locks the user, reads their
//! rows, revokes or refuses, and inserts (the SeaORM store's recipe, on the same SQL):
//! - PostgreSQL: a transaction-scoped advisory lock on the table and the user id, then the read
//!   at `READ COMMITTED` (a snapshot taken after the lock, so it sees the last holder's insert);
//! - MySQL/MariaDB: `SELECT … FOR UPDATE` at `REPEATABLE READ`, whose next-key locks on the
//!   user's range of the `user_id` index also bar inserts into it (two logins of a user with no
//!   rows yet deadlock on their inserts; InnoDB rolls one back and it runs again);
//! - SQLite: `BEGIN IMMEDIATE` takes the database's one write lock before the read.
//!
//! The transaction goes through diesel-async's transaction manager, so a login cancelled
//! half-way leaves a connection the pool sees as broken and drops, never one inside a
//! transaction.

use authtoken::LimitTokens;
use authtoken::limit::{Liveness, TokenLimit};
use authtoken::store::AccessToken;
use authtoken::{Error, Result};
use authtoken_sql::retrying_conflicts;
use authtoken_sql::{Dialect, SqlParam};
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, TransactionManager};

use crate::connection::IdOn;
use crate::store::{DieselStore, is_serialization_failure, store_error};
use crate::table::{AccessTokenTable, IdOf};

/// How one attempt ended, short of a database error.
enum Attempt {
    /// The row is in; these keys were revoked to make room.
    Stored(Vec<String>),
    /// The limit refused the login; nothing changed.
    Refused,
    /// The limit could not decide (not worth a retry).
    Failed(Error),
}

impl<T, C> LimitTokens for DieselStore<T, C>
where
    T: AccessTokenTable,
    C: IdOn<T::UserIdSql>,
{
    async fn create_within_limit(
        &self,
        row: AccessToken<IdOf<T>>,
        _expires_at: Option<DateTime<Utc>>,
        limit: TokenLimit,
        live: Liveness,
    ) -> Result<Vec<String>> {
        let attempt = || async {
            let mut conn = self.conn().await?;
            self.bounded(self.limited_insert(&mut conn, &row, limit, &live)).await
        };
        match retrying_conflicts(attempt, is_serialization_failure).await? {
            Ok(Attempt::Stored(evicted)) => Ok(evicted),
            Ok(Attempt::Refused) => Err(Error::TokenLimitReached),
            Ok(Attempt::Failed(error)) => Err(error),
            Err(error) => Err(store_error(error)),
        }
    }
}

impl<T, C> DieselStore<T, C>
where
    T: AccessTokenTable,
    C: IdOn<T::UserIdSql>,
{
    /// One attempt, in one transaction: committed only when the row is in.
    async fn limited_insert(
        &self,
        conn: &mut C,
        row: &AccessToken<IdOf<T>>,
        limit: TokenLimit,
        live: &Liveness,
    ) -> QueryResult<Attempt> {
        conn.begin_locking_transaction().await?;
        let outcome = self.locked_steps(conn, row, limit, live).await;
        match outcome {
            Ok(Attempt::Stored(_)) => {
                <C as AsyncConnection>::TransactionManager::commit_transaction(conn).await?
            }
            // The error (or the refusal) is what the caller needs; a failed rollback leaves the
            // connection broken, and the pool drops it.
            _ => drop(<C as AsyncConnection>::TransactionManager::rollback_transaction(conn).await),
        }
        outcome
    }

    async fn locked_steps(
        &self,
        conn: &mut C,
        row: &AccessToken<IdOf<T>>,
        limit: TokenLimit,
        live: &Liveness,
    ) -> QueryResult<Attempt> {
        let sql = self.sql();
        if C::DIALECT == Dialect::Postgres {
            let lock = self.statement(&sql.lock_user, vec![SqlParam::Text(sql.table.clone())]);
            conn.run(lock.bind_id(row.user_id.clone())).await?;
        }
        let found = conn.token_rows(self.by_owner(&sql.limit_rows, &row.user_id)).await?;
        let rows: Vec<_> = found.into_iter().map(|found| found.0).collect();
        let evicted = match limit.make_room(&rows, live) {
            Ok(evicted) => evicted,
            Err(Error::TokenLimitReached) => return Ok(Attempt::Refused),
            Err(error) => return Ok(Attempt::Failed(error)),
        };
        for key in &evicted {
            conn.run(self.delete_statement(key, &row.user_id)).await?;
        }
        conn.run(self.insert(row)).await?;
        Ok(Attempt::Stored(evicted))
    }
}
