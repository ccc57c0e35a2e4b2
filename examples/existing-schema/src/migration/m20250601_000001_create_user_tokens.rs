//! authtoken's table, configured for this schema. A local module (not an inline entry in the
//! `vec![]`) so that `sea-orm-migration generate` keeps it when it rewrites the list.

use authtoken_migration::{CreateAccessTokenTable, UserIdType};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn user_tokens() -> CreateAccessTokenTable {
    CreateAccessTokenTable::new("users", "id", UserIdType::Int64).with_token_table("user_tokens")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        user_tokens().up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        user_tokens().down(manager).await
    }
}
