//! The sea-orm-migration CLI (`up`, `down`, `status`, `fresh`, `refresh`, `reset`) over the demo
//! schema, on `DATABASE_URL` or the embedded SQLite default.

use authtoken_migration::{DEFAULT_DATABASE_URL, create_private_sqlite_file, demo::Migrator};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::Database;

#[tokio::main]
async fn main() {
    cli::run_cli_with_custom_connection(Migrator, async || {
        // Read after the CLI has loaded `.env`, so a DATABASE_URL there counts too.
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
        create_private_sqlite_file(&url).map_err(|e| DbErr::Custom(format!("{url}: {e}")))?;
        authtoken_sea_orm::tls::check_url(&url).map_err(|e| DbErr::Custom(e.to_string()))?;
        Database::connect(url).await
    })
    .await;
}
