//! The app's migrator: its own user table, then authtoken's token table.

use sea_orm_migration::prelude::*;

mod m20250101_000001_create_users;
mod m20250601_000001_create_user_tokens;

/// Lists the app's migrations in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_create_users::Migration),
            Box::new(m20250601_000001_create_user_tokens::Migration),
        ]
    }
}
