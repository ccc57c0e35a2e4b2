//! The commands on the SeaORM store (the default for SQL URLs: sqlite, postgres, mysql).

use authtoken_sea_orm::access_token::{by_i32, by_i64, by_string, by_uuid};
use authtoken_sea_orm::{AccessTokenEntity, SeaOrmRefreshStore, SeaOrmStore};
use sea_orm::DatabaseConnection;

use crate::args::{Command, TableOptions, UserIdType};
use crate::commands::run_purgeable;
use crate::connect;
use crate::context::{CliUserId, Context, Outcome, lifetime_for};

/// Runs the command on the SQL database of `url` through the SeaORM store.
pub async fn run(url: &str, options: &TableOptions, command: Command) -> anyhow::Result<Outcome> {
    let db = connect::connect(url).await?;
    match options.user_id_type {
        UserIdType::Uuid => run_with::<by_uuid::Entity>(db, options, command).await,
        UserIdType::I32 => run_with::<by_i32::Entity>(db, options, command).await,
        UserIdType::I64 => run_with::<by_i64::Entity>(db, options, command).await,
        UserIdType::String => run_with::<by_string::Entity>(db, options, command).await,
        UserIdType::Objectid => {
            anyhow::bail!("--user-id-type objectid is for MongoDB (a mongodb:// URL)")
        }
    }
}

async fn run_with<E>(
    db: DatabaseConnection,
    options: &TableOptions,
    command: Command,
) -> anyhow::Result<Outcome>
where
    E: AccessTokenEntity<UserId: CliUserId + Into<sea_orm::Value> + sea_orm::TryGetable>,
{
    let lifetime = lifetime_for(&command, options.lifetime)?;
    let refresh = SeaOrmRefreshStore::<E::UserId>::new(db.clone());
    let store = SeaOrmStore::<E>::new(db).with_table(&options.table).detect_details().await?;
    store.check_table().await?;
    tracing::debug!(table = %options.table, "the token table matches");
    let context = Context::new(store, lifetime, options)?.with_refresh(refresh).await;
    run_purgeable(context, command).await
}
