//! [`CreateLoginThrottleTable`]: the table `authtoken_sea_orm::SeaOrmThrottle` counts login
//! attempts in.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::identifiers::plain_identifiers;

/// The table a shared login throttle counts in (default `authtoken_login_throttle`): one row per
/// account or client address, `throttle_key` (`a:` and a SHA-256 in hex, or `c:` and an address),
/// `attempts`, and the window's start and the lock's end in Unix milliseconds. No user data: an
/// account appears only as a hash of its name.
///
/// ```
/// use authtoken_migration::CreateLoginThrottleTable;
/// use sea_orm_migration::MigrationTrait;
///
/// let migrations: Vec<Box<dyn MigrationTrait>> = vec![Box::new(CreateLoginThrottleTable::new())];
/// ```
#[derive(Debug, Clone)]
pub struct CreateLoginThrottleTable {
    table: String,
    name: String,
}

impl Default for CreateLoginThrottleTable {
    fn default() -> Self {
        Self::new()
    }
}

impl CreateLoginThrottleTable {
    /// The table `authtoken_login_throttle`.
    pub fn new() -> Self {
        Self::named("authtoken_login_throttle")
    }

    /// A table of another name.
    pub fn named(table: &str) -> Self {
        Self { table: table.to_owned(), name: format!("m20260101_000004_create_{table}") }
    }

    fn quoted(&self, backend: DatabaseBackend) -> Result<String, DbErr> {
        plain_identifiers(&[&self.table])?;
        Ok(match backend {
            DatabaseBackend::MySql => format!("`{}`", self.table),
            _ => format!("\"{}\"", self.table),
        })
    }
}

impl MigrationName for CreateLoginThrottleTable {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateLoginThrottleTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let t = self.quoted(backend)?;
        let key = match backend {
            DatabaseBackend::MySql => "VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin",
            _ => "VARCHAR(80)",
        };
        let index = format!("idx_{}_window_start", self.table);
        let columns = "attempts BIGINT NOT NULL, window_start BIGINT NOT NULL, \
                       locked_until BIGINT NOT NULL";
        // MySQL has no `CREATE INDEX IF NOT EXISTS`: there the index is part of the table.
        let statements = match backend {
            DatabaseBackend::MySql => vec![format!(
                "CREATE TABLE IF NOT EXISTS {t} (throttle_key {key} NOT NULL PRIMARY KEY, \
                 {columns}, INDEX `{index}` (window_start))"
            )],
            _ => vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (throttle_key {key} NOT NULL PRIMARY KEY, \
                     {columns})"
                ),
                format!("CREATE INDEX IF NOT EXISTS \"{index}\" ON {t} (window_start)"),
            ],
        };
        for statement in statements {
            manager.get_connection().execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = self.quoted(manager.get_database_backend())?;
        manager.get_connection().execute_unprepared(&format!("DROP TABLE IF EXISTS {t}")).await?;
        Ok(())
    }
}
