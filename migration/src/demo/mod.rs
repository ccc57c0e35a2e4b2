//! The demo schema the binary migrates: a `user` table keyed by UUID, then the token table, then
//! its optional API-token columns (so the CLI on a demo database shows names, scopes, expiry),
//! then the client's (so the demo's sessions show a device).
//!
//! It also shows the layout an app's own migration crate takes: the library migration wrapped in
//! a local, dated module, so that `sea-orm-migration generate` (which rewrites the `vec![...]`
//! below) keeps it.

use sea_orm_migration::prelude::*;

mod m20260101_000001_create_user;
mod m20260101_000002_create_access_token;
mod m20260101_000003_add_token_details;
mod m20260101_000004_add_client_columns;

/// The demo migrator: `user`, then `access_token`, then its API-token columns, then the
/// client's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_user::Migration),
            Box::new(m20260101_000002_create_access_token::Migration),
            Box::new(m20260101_000003_add_token_details::Migration),
            Box::new(m20260101_000004_add_client_columns::Migration),
        ]
    }
}
