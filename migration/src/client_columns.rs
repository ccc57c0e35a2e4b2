//! The client's optional columns (`user_agent`, `address`: what a sessions page shows of the
//! device a token was issued to): on a new table through
//! [`CreateAccessTokenTable::with_client_columns`](crate::CreateAccessTokenTable::with_client_columns),
//! or added to an existing one by [`AddClientColumns`].

use sea_orm_migration::prelude::*;

/// The two columns, nullable: rows written before them (or by fastapi-users) have none.
pub(crate) fn client_columns() -> Vec<ColumnDef> {
    vec![
        // `authtoken::MAX_USER_AGENT_CHARS`: longer agents are cut before they are stored.
        ColumnDef::new(Alias::new("user_agent")).string_len(255).null().take(),
        // The longest text form of an IPv6 address.
        ColumnDef::new(Alias::new("address")).string_len(45).null().take(),
    ]
}

/// Adds the client's columns to an existing token table; `down` drops them again. The store
/// finds them with `detect_details` (or takes them with `with_client_columns`); tokens issued
/// before keep working, their sessions shown without a device.
///
/// ```
/// use authtoken_migration::AddClientColumns;
/// use sea_orm_migration::prelude::*;
///
/// let migration = AddClientColumns::new("access_token");
/// assert_eq!(migration.name(), "m20260101_000400_add_client_columns");
/// ```
#[derive(Debug, Clone)]
pub struct AddClientColumns {
    name: String,
    token_table: String,
}

impl AddClientColumns {
    /// The migration's name in `seaql_migrations` unless [`with_name`](Self::with_name) changes it.
    pub const DEFAULT_NAME: &str = "m20260101_000400_add_client_columns";

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

impl MigrationName for AddClientColumns {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddClientColumns {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for mut column in client_columns() {
            let alter =
                Table::alter().table(Alias::new(&self.token_table)).add_column(&mut column).take();
            manager.alter_table(alter).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["user_agent", "address"] {
            let alter = Table::alter()
                .table(Alias::new(&self.token_table))
                .drop_column(Alias::new(column))
                .take();
            manager.alter_table(alter).await?;
        }
        Ok(())
    }
}
