//! The optional columns of API tokens (`expires_at`, `name`, `scopes`, `last_used_at`): on a new
//! table through [`CreateAccessTokenTable::with_details`](crate::CreateAccessTokenTable::with_details),
//! or added to an existing one by [`AddTokenDetails`].

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// The optional columns, nullable: rows written before them (or by fastapi-users) have none.
pub(crate) fn detail_columns(backend: DatabaseBackend) -> Vec<ColumnDef> {
    let timestamp = |name: &str| {
        let mut column = ColumnDef::new(Alias::new(name));
        match backend {
            // As `created_at`: UTC in DATETIME(6), never TIMESTAMP (session zone, 2038).
            DatabaseBackend::MySql => column.custom("DATETIME(6)"),
            _ => column.timestamp_with_time_zone(),
        };
        column.null().take()
    };
    vec![
        timestamp("expires_at"),
        ColumnDef::new(Alias::new("name")).string_len(255).null().take(),
        // Space-separated scope tokens, as OAuth writes a scope string.
        ColumnDef::new(Alias::new("scopes")).text().null().take(),
        timestamp("last_used_at"),
    ]
}

/// The index purge uses to find rows past their own expiry.
pub(crate) fn expires_at_index(table: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("idx_{table}_expires_at"))
        .table(Alias::new(table))
        .col(Alias::new("expires_at"))
        .take()
}

/// Adds the API-token columns to an existing token table (and an index on `expires_at`); `down`
/// drops them again. Existing rows keep working: their new columns are empty, so they follow the
/// strategy's lifetime as before.
///
/// ```
/// use authtoken_migration::AddTokenDetails;
/// use sea_orm_migration::prelude::*;
///
/// let migration = AddTokenDetails::new("access_token");
/// assert_eq!(migration.name(), "m20260101_000300_add_token_details");
/// ```
#[derive(Debug, Clone)]
pub struct AddTokenDetails {
    name: String,
    token_table: String,
}

impl AddTokenDetails {
    /// The migration's name in `seaql_migrations` unless [`with_name`](Self::with_name) changes it.
    pub const DEFAULT_NAME: &str = "m20260101_000300_add_token_details";

    /// Adds the columns to `token_table`.
    pub fn new(token_table: &str) -> Self {
        Self { name: Self::DEFAULT_NAME.to_owned(), token_table: token_table.to_owned() }
    }

    /// Names the migration.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }
}

impl MigrationName for AddTokenDetails {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddTokenDetails {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = &self.token_table;
        // One column per statement: SQLite adds one at a time.
        for column in detail_columns(manager.get_database_backend()) {
            let mut column = column;
            let alter = Table::alter().table(Alias::new(table)).add_column(&mut column).take();
            manager.alter_table(alter).await?;
        }
        manager.create_index(expires_at_index(table)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = &self.token_table;
        let mut index = Index::drop();
        index.name(format!("idx_{table}_expires_at")).table(Alias::new(table));
        manager.drop_index(index).await?;
        for column in ["expires_at", "name", "scopes", "last_used_at"] {
            let alter =
                Table::alter().table(Alias::new(table)).drop_column(Alias::new(column)).take();
            manager.alter_table(alter).await?;
        }
        Ok(())
    }
}
