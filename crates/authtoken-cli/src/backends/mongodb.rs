//! The commands on the MongoDB store (`mongodb://`, `mongodb+srv://`), native or Beanie layout.

use anyhow::Context as _;
use authtoken_mongodb::mongodb::bson::oid::ObjectId;
use authtoken_mongodb::{Layout, MongoRefreshStore, MongoStore, MongoUserId, UuidRepresentation};

use crate::args::{Command, MongoLayout, TableOptions, UserIdType};
use crate::commands::run_purgeable;
use crate::connect;
use crate::context::{CliUserId, Context, Outcome, lifetime_for};

/// Runs the command on the MongoDB database of `url`.
pub async fn run(url: &str, options: &TableOptions, command: Command) -> anyhow::Result<Outcome> {
    match options.user_id_type {
        UserIdType::Objectid => run_with::<ObjectId>(url, options, command).await,
        UserIdType::Uuid => run_with::<uuid::Uuid>(url, options, command).await,
        UserIdType::I32 => run_with::<i32>(url, options, command).await,
        UserIdType::I64 => run_with::<i64>(url, options, command).await,
        UserIdType::String => run_with::<String>(url, options, command).await,
    }
}

/// The same commands on MongoDB (the database named in the URL, the collection `--table`).
async fn run_with<Id>(
    url: &str,
    options: &TableOptions,
    command: Command,
) -> anyhow::Result<Outcome>
where
    Id: MongoUserId + CliUserId,
{
    let lifetime = lifetime_for(&command, options.lifetime)?;
    let layout = match options.mongodb_layout {
        MongoLayout::Native => Layout::native().collection(&options.table),
        // Beanie's own collection name unless another is given.
        MongoLayout::Beanie if options.table == "access_token" => Layout::beanie(),
        MongoLayout::Beanie => Layout::beanie().collection(&options.table),
    };
    let uuids = match options.mongodb_uuid_as_text {
        true => UuidRepresentation::String,
        false => UuidRepresentation::Binary,
    };
    let mut store = MongoStore::<Id>::connect(url)
        .await
        .with_context(|| format!("cannot use {}", connect::shown(url)))?
        .with_layout(layout)
        .with_uuid_representation(uuids)
        .with_timeout(std::time::Duration::from_secs(10));
    if options.mongodb_ttl_index {
        store = store.with_ttl_index();
    }
    let refresh = MongoRefreshStore::new(&store);
    let context = Context::new(store, lifetime, options)?.with_refresh(refresh).await;
    run_purgeable(context, command).await
}
