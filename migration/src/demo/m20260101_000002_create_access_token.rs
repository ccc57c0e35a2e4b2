//! The token table for the demo `user` table: the library migration, configured.

use sea_orm_migration::prelude::*;

use crate::{CreateAccessTokenTable, UserIdType};

/// Delegates to [`CreateAccessTokenTable`] under this module's own name.
pub struct Migration;

fn configured() -> CreateAccessTokenTable {
    CreateAccessTokenTable::new("user", "id", UserIdType::Uuid)
        .with_name("m20260101_000002_create_access_token")
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260101_000002_create_access_token"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        configured().up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        configured().down(manager).await
    }
}
