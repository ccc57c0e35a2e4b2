//! The migration that creates the token table, as a value configured for the app's schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::client_columns::client_columns;
use crate::token_details::{detail_columns, expires_at_index};

/// The type of the user table's primary key, which `user_id` must match exactly (MySQL refuses a
/// foreign key from a `BIGINT` to an `INT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserIdType {
    /// `uuid` on PostgreSQL, `binary(16)` on MySQL, a blob on SQLite: SeaORM's `Uuid`.
    Uuid,
    /// A 32-bit integer (`i32`).
    Int32,
    /// A 64-bit integer (`i64`).
    Int64,
    /// A string (`String`), as SeaORM's `string()` column.
    String,
}

/// Creates the token table: `token VARCHAR(43) PRIMARY KEY`, `user_id` referencing the user table
/// with `ON DELETE CASCADE`, `created_at` (UTC), and indexes on `user_id` and `created_at`.
///
/// Add it to your own `Migrator` after the migration that creates your user table:
///
/// ```
/// use authtoken_migration::{CreateAccessTokenTable, UserIdType};
/// use sea_orm_migration::prelude::*;
///
/// let migration = CreateAccessTokenTable::new("users", "id", UserIdType::Int64);
/// assert_eq!(migration.name(), "m20260101_000100_create_access_token_table");
/// ```
///
/// `down` drops the table, and its indexes and foreign key with it.
#[derive(Debug, Clone)]
pub struct CreateAccessTokenTable {
    name: String,
    token_table: String,
    user_table: String,
    user_key: String,
    user_id_type: UserIdType,
    details: bool,
    client: bool,
}

impl CreateAccessTokenTable {
    /// The migration's name in `seaql_migrations` unless [`with_name`](Self::with_name) changes it.
    pub const DEFAULT_NAME: &str = "m20260101_000100_create_access_token_table";

    /// A migration for a token table named `access_token`, whose `user_id` has type
    /// `user_id_type` and references `user_table(user_key)`.
    pub fn new(user_table: &str, user_key: &str, user_id_type: UserIdType) -> Self {
        Self {
            name: Self::DEFAULT_NAME.to_owned(),
            token_table: "access_token".to_owned(),
            user_table: user_table.to_owned(),
            user_key: user_key.to_owned(),
            user_id_type,
            details: false,
            client: false,
        }
    }

    /// Adds the API-token columns (`expires_at`, `name`, `scopes`, `last_used_at`, all nullable)
    /// and an index on `expires_at`; without it the table is the three columns a table shared
    /// with fastapi-users must be. An existing table gets them with
    /// [`AddTokenDetails`](crate::AddTokenDetails).
    pub fn with_details(mut self) -> Self {
        self.details = true;
        self
    }

    /// Adds the client's columns (`user_agent`, `address`, nullable): the device and address a
    /// user's sessions page shows. An existing table gets them with
    /// [`AddClientColumns`](crate::AddClientColumns).
    pub fn with_client_columns(mut self) -> Self {
        self.client = true;
        self
    }

    /// Names the token table (e.g. `accesstoken`, fastapi-users' name).
    pub fn with_token_table(mut self, table: &str) -> Self {
        self.token_table = table.to_owned();
        self
    }

    /// Names the migration, for an app that runs it twice (two token tables) or renames it.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// The token table's name.
    pub fn token_table(&self) -> &str {
        &self.token_table
    }

    fn index_name(&self, column: &str) -> String {
        format!("idx_{}_{column}", self.token_table)
    }

    fn user_id_column(&self) -> ColumnDef {
        self.user_id_type.column("user_id")
    }
}

impl UserIdType {
    /// A `NOT NULL` column `name` of this type.
    pub(crate) fn column(&self, name: &str) -> ColumnDef {
        let mut column = ColumnDef::new(Alias::new(name));
        match self {
            UserIdType::Uuid => column.uuid(),
            UserIdType::Int32 => column.integer(),
            UserIdType::Int64 => column.big_integer(),
            UserIdType::String => column.string(),
        };
        column.not_null().take()
    }
}

fn token_column(backend: DatabaseBackend) -> ColumnDef {
    let mut column = ColumnDef::new("token");
    match backend {
        // MySQL's default collations compare case-insensitively and ignore trailing spaces;
        // a token must match byte for byte.
        DatabaseBackend::MySql => {
            column.custom("VARCHAR(43) CHARACTER SET ascii COLLATE ascii_bin")
        }
        _ => column.string_len(43),
    };
    column.not_null().primary_key().take()
}

fn created_at_column(backend: DatabaseBackend) -> ColumnDef {
    let mut column = ColumnDef::new("created_at");
    match backend {
        // MySQL's TIMESTAMP drops fractions, converts through the session time zone and ends in
        // 2038; DATETIME(6) holding UTC does none of that.
        DatabaseBackend::MySql => column.custom("DATETIME(6)"),
        _ => column.timestamp_with_time_zone(),
    };
    column.not_null().take()
}

impl MigrationName for CreateAccessTokenTable {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAccessTokenTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let table = Alias::new(&self.token_table);
        let name = &self.token_table;
        let mut create = Table::create()
            .table(table.clone())
            .col(token_column(backend))
            .col(self.user_id_column())
            .col(created_at_column(backend))
            .foreign_key(
                ForeignKey::create()
                    .name(format!("fk_{name}_user_id"))
                    .from(table.clone(), "user_id")
                    .to(Alias::new(&self.user_table), Alias::new(&self.user_key))
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .take();
        if self.details {
            for column in detail_columns(backend) {
                create.col(column);
            }
        }
        if self.client {
            for column in client_columns() {
                create.col(column);
            }
        }
        manager.create_table(create).await?;
        if self.details {
            manager.create_index(expires_at_index(name)).await?;
        }
        for column in ["user_id", "created_at"] {
            let index = Index::create()
                .name(self.index_name(column))
                .table(table.clone())
                .col(column)
                .take();
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alias::new(&self.token_table)).take()).await
    }
}
