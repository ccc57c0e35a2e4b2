//! The service's schema: `users`, then authtoken's token table (with the client's columns, for
//! the sessions page, and a token's own expiry), the login throttle's and the refresh tokens'.

use authtoken_migration::{
    AddClientColumns, AddTokenDetails, CreateAccessTokenTable, CreateLoginThrottleTable,
    CreateRefreshTokenTables, UserIdType,
};
use sea_orm_migration::prelude::*;

/// The service's migrations, in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateUsers),
            Box::new(CreateTokens),
            // For `AUTHTOKEN_DEMO_THROTTLE=sql`: login attempts counted in this database.
            Box::new(CreateLoginThrottleTable::new()),
            // The device and address "Your sessions" shows.
            Box::new(AddClientColumns::new("access_token")),
            // A token's own expiry: the `app` backend's short access tokens carry theirs.
            Box::new(AddTokenDetails::new("access_token")),
            // The `app` backend's refresh tokens.
            Box::new(CreateRefreshTokenTables::new("users", "id", UserIdType::Int64)),
        ]
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
    IsActive,
    IsVerified,
    IsSuperuser,
}

struct CreateUsers;

impl MigrationName for CreateUsers {
    fn name(&self) -> &str {
        "m20260101_000001_create_users"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateUsers {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let flag = |name: Users| ColumnDef::new(name).boolean().not_null().default(false).take();
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(
                        ColumnDef::new(Users::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Users::Username).string().not_null().unique_key())
                    .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                    .col(flag(Users::IsActive))
                    .col(flag(Users::IsVerified))
                    .col(flag(Users::IsSuperuser))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Users::Table).take()).await
    }
}

struct CreateTokens;

impl MigrationName for CreateTokens {
    fn name(&self) -> &str {
        "m20260101_000002_create_access_token"
    }
}

fn tokens() -> CreateAccessTokenTable {
    CreateAccessTokenTable::new("users", "id", UserIdType::Int64)
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTokens {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        tokens().up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        tokens().down(manager).await
    }
}
