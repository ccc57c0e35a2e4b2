//! The API-token columns on the demo token table, added as an existing table gets them.

use sea_orm_migration::prelude::*;

use crate::AddTokenDetails;

/// Delegates to [`AddTokenDetails`] under this module's own name.
pub struct Migration;

fn configured() -> AddTokenDetails {
    AddTokenDetails::new("access_token").with_name("m20260101_000003_add_token_details")
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260101_000003_add_token_details"
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
