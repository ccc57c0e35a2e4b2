//! The client's columns on the demo token table, so its sessions show a device and an address.

use sea_orm_migration::prelude::*;

use crate::AddClientColumns;

/// Delegates to [`AddClientColumns`] under this module's own name.
pub struct Migration;

const NAME: &str = "m20260101_000004_add_client_columns";

impl MigrationName for Migration {
    fn name(&self) -> &str {
        NAME
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        AddClientColumns::new("access_token").with_name(NAME).up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        AddClientColumns::new("access_token").with_name(NAME).down(manager).await
    }
}
