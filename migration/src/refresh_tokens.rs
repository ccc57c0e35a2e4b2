//! The refresh-token tables (`authtoken::refresh`): `refresh_family`, one row per login, and
//! `refresh_token`, one row per refresh token of a family.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::UserIdType;

/// Creates `refresh_family (id VARCHAR(22) PRIMARY KEY, user_id REFERENCES user ON DELETE
/// CASCADE, started_at, ended_at NULL)` and `refresh_token (key VARCHAR(43) PRIMARY KEY, family
/// REFERENCES refresh_family ON DELETE CASCADE, user_id, issued_at, access_key VARCHAR(43),
/// spent_at NULL)`, with indexes on `refresh_token.family`, `refresh_token.access_key` and
/// `refresh_family.user_id`. `down` drops both.
///
/// ```
/// use authtoken_migration::{CreateRefreshTokenTables, UserIdType};
/// use sea_orm_migration::prelude::*;
///
/// let migration = CreateRefreshTokenTables::new("users", "id", UserIdType::Int64);
/// assert_eq!(migration.name(), "m20260101_000500_create_refresh_token_tables");
/// ```
#[derive(Debug, Clone)]
pub struct CreateRefreshTokenTables {
    name: String,
    user_table: String,
    user_key: String,
    user_id_type: UserIdType,
}

impl CreateRefreshTokenTables {
    /// The migration's name in `seaql_migrations` unless [`with_name`](Self::with_name) changes it.
    pub const DEFAULT_NAME: &str = "m20260101_000500_create_refresh_token_tables";

    /// The tables for users of `user_table(user_key)`, whose key has type `user_id_type`.
    pub fn new(user_table: &str, user_key: &str, user_id_type: UserIdType) -> Self {
        Self {
            name: Self::DEFAULT_NAME.to_owned(),
            user_table: user_table.to_owned(),
            user_key: user_key.to_owned(),
            user_id_type,
        }
    }

    /// Names the migration.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }
}

impl MigrationName for CreateRefreshTokenTables {
    fn name(&self) -> &str {
        &self.name
    }
}

/// A key column of `length` ASCII characters compared byte for byte.
fn key_column(backend: DatabaseBackend, name: &str, length: u32) -> ColumnDef {
    let mut column = ColumnDef::new(Alias::new(name));
    match backend {
        DatabaseBackend::MySql => {
            column.custom(format!("VARCHAR({length}) CHARACTER SET ascii COLLATE ascii_bin"))
        }
        _ => column.string_len(length),
    };
    column.not_null().take()
}

/// A UTC time, as `created_at` is kept.
fn time_column(backend: DatabaseBackend, name: &str, null: bool) -> ColumnDef {
    let mut column = ColumnDef::new(Alias::new(name));
    match backend {
        DatabaseBackend::MySql => column.custom("DATETIME(6)"),
        _ => column.timestamp_with_time_zone(),
    };
    if null {
        column.null()
    } else {
        column.not_null()
    };
    column.take()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRefreshTokenTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let family = Alias::new("refresh_family");
        let token = Alias::new("refresh_token");
        let mut create_family = Table::create();
        create_family
            .table(family.clone())
            .col(key_column(backend, "id", 22).primary_key())
            .col(self.user_id_type.column("user_id"))
            .col(time_column(backend, "started_at", false))
            .col(time_column(backend, "ended_at", true))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_refresh_family_user_id")
                    .from(family.clone(), Alias::new("user_id"))
                    .to(Alias::new(&self.user_table), Alias::new(&self.user_key))
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager.create_table(create_family).await?;
        let mut create_token = Table::create();
        create_token
            .table(token.clone())
            .col(key_column(backend, "key", 43).primary_key())
            .col(key_column(backend, "family", 22))
            .col(self.user_id_type.column("user_id"))
            .col(time_column(backend, "issued_at", false))
            .col(key_column(backend, "access_key", 43))
            .col(time_column(backend, "spent_at", true))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_refresh_token_family")
                    .from(token.clone(), Alias::new("family"))
                    .to(family.clone(), Alias::new("id"))
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager.create_table(create_token).await?;
        for (table, column) in [
            ("refresh_token", "family"),
            ("refresh_token", "access_key"),
            ("refresh_family", "user_id"),
        ] {
            let index = Index::create()
                .name(format!("idx_{table}_{column}"))
                .table(Alias::new(table))
                .col(Alias::new(column))
                .take();
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alias::new("refresh_token")).take()).await?;
        manager.drop_table(Table::drop().table(Alias::new("refresh_family")).take()).await
    }
}
