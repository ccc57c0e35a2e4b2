//! [`CreateRevocationLog`]: on databases without a notification channel, a log of deleted
//! tokens that each process's cache polls.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::identifiers::plain_identifiers;

/// An optional migration, after [`CreateAccessTokenTable`](crate::CreateAccessTokenTable): on
/// MySQL/MariaDB and SQLite, a table `{token table}_revocation` and triggers that append every
/// deleted token's key to it in the deleting transaction: logout, log out everywhere, an
/// operator's `DELETE`, purge, and the user's cascade (a `BEFORE DELETE` trigger on the user
/// table logs the user's tokens, since MySQL's cascades fire no triggers). The cache's poller
/// (`authtoken_sea_orm::revocations::LogRevocations`) reads it. `TRUNCATE` fires no trigger:
/// empty the table with `DELETE`.
///
/// On PostgreSQL it does nothing: use [`CreateRevocationTrigger`](crate::CreateRevocationTrigger).
///
/// ```
/// use authtoken_migration::{CreateAccessTokenTable, CreateRevocationLog, UserIdType};
/// use sea_orm_migration::MigrationTrait;
///
/// let migrations: Vec<Box<dyn MigrationTrait>> = vec![
///     Box::new(CreateAccessTokenTable::new("user", "id", UserIdType::Uuid)),
///     Box::new(CreateRevocationLog::new("access_token", "user", "id")),
/// ];
/// ```
#[derive(Debug, Clone)]
pub struct CreateRevocationLog {
    table: String,
    user_table: String,
    user_key: String,
    name: String,
}

/// The log table for `token_table`.
pub fn revocation_log_table(token_table: &str) -> String {
    format!("{token_table}_revocation")
}

impl CreateRevocationLog {
    /// The log of `token_table`, whose `user_id` references `user_table`'s `user_key`.
    pub fn new(token_table: &str, user_table: &str, user_key: &str) -> Self {
        Self {
            table: token_table.to_owned(),
            user_table: user_table.to_owned(),
            user_key: user_key.to_owned(),
            name: format!("m20260101_000003_create_{token_table}_revocation_log"),
        }
    }

    fn check_names(&self) -> Result<(), DbErr> {
        plain_identifiers(&[&self.table, &self.user_table, &self.user_key])
    }

    fn statements(&self, backend: DatabaseBackend) -> Result<Vec<String>, DbErr> {
        self.check_names()?;
        let (table, users, key) = (&self.table, &self.user_table, &self.user_key);
        let log = revocation_log_table(table);
        Ok(match backend {
            DatabaseBackend::MySql => vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS `{log}` (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
                     token VARCHAR(43) CHARACTER SET ascii COLLATE ascii_bin NULL, \
                     user_id VARCHAR(255) NULL, revoked_at DATETIME(6) NOT NULL, \
                     INDEX idx_{log}_revoked_at (revoked_at))"
                ),
                format!("DROP TRIGGER IF EXISTS `{table}_revoked`"),
                format!(
                    "CREATE TRIGGER `{table}_revoked` AFTER DELETE ON `{table}` FOR EACH ROW \
                     INSERT INTO `{log}` (token, revoked_at) VALUES (OLD.token, UTC_TIMESTAMP(6))"
                ),
                format!("DROP TRIGGER IF EXISTS `{users}_{table}_revoked`"),
                format!(
                    "CREATE TRIGGER `{users}_{table}_revoked` BEFORE DELETE ON `{users}` FOR EACH \
                     ROW INSERT INTO `{log}` (token, revoked_at) SELECT token, UTC_TIMESTAMP(6) \
                     FROM `{table}` WHERE user_id = OLD.`{key}`"
                ),
            ],
            DatabaseBackend::Sqlite => vec![
                format!(
                    r#"CREATE TABLE IF NOT EXISTS "{log}" (id INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NULL, user_id TEXT NULL, revoked_at TEXT NOT NULL)"#
                ),
                format!(r#"DROP TRIGGER IF EXISTS "{table}_revoked""#),
                format!(
                    r#"CREATE TRIGGER "{table}_revoked" AFTER DELETE ON "{table}" FOR EACH ROW BEGIN INSERT INTO "{log}" (token, revoked_at) VALUES (OLD.token, strftime('%Y-%m-%d %H:%M:%f', 'now')); END"#
                ),
                format!(r#"DROP TRIGGER IF EXISTS "{users}_{table}_revoked""#),
                format!(
                    r#"CREATE TRIGGER "{users}_{table}_revoked" BEFORE DELETE ON "{users}" FOR EACH ROW BEGIN INSERT INTO "{log}" (token, revoked_at) SELECT token, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM "{table}" WHERE user_id = OLD."{key}"; END"#
                ),
            ],
            _ => Vec::new(),
        })
    }
}

impl MigrationName for CreateRevocationLog {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRevocationLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in self.statements(manager.get_database_backend())? {
            manager.get_connection().execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        self.check_names()?;
        let (table, users) = (&self.table, &self.user_table);
        let log = revocation_log_table(table);
        let q = match manager.get_database_backend() {
            DatabaseBackend::MySql => '`',
            DatabaseBackend::Sqlite => '"',
            _ => return Ok(()),
        };
        for statement in [
            format!("DROP TRIGGER IF EXISTS {q}{table}_revoked{q}"),
            format!("DROP TRIGGER IF EXISTS {q}{users}_{table}_revoked{q}"),
            format!("DROP TABLE IF EXISTS {q}{log}{q}"),
        ] {
            manager.get_connection().execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_plain_identifiers() {
        let good = CreateRevocationLog::new("access_token", "user", "id");
        assert!(good.statements(DatabaseBackend::MySql).is_ok());
        assert!(good.statements(DatabaseBackend::Postgres).unwrap().is_empty());
        let bad = CreateRevocationLog::new("access_token", "user`; DROP TABLE x; --", "id");
        assert!(bad.statements(DatabaseBackend::Sqlite).is_err());
    }
}
