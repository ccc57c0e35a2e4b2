//! The commands on the Redis store (`redis://`, `rediss://`, and their `+cluster` forms).

use anyhow::Context as _;
use authtoken_redis::{RedisRefreshStore, RedisStore, ValueFormat};

use crate::args::{Command, Storage, TableOptions, UserIdType};
use crate::commands;
use crate::connect;
use crate::context::{CliUserId, Context, Outcome, lifetime_for};

/// Runs the command on the Redis server of `url`.
pub async fn run(url: &str, options: &TableOptions, command: Command) -> anyhow::Result<Outcome> {
    match options.user_id_type {
        UserIdType::Uuid => run_with::<uuid::Uuid>(url, options, command).await,
        UserIdType::I32 => run_with::<i32>(url, options, command).await,
        UserIdType::I64 => run_with::<i64>(url, options, command).await,
        UserIdType::String => run_with::<String>(url, options, command).await,
        UserIdType::Objectid => {
            anyhow::bail!("--user-id-type objectid is for MongoDB (a mongodb:// URL)")
        }
    }
}

/// The same commands on Redis, whose keys expire by themselves: `purge` has nothing to do.
async fn run_with<Id>(
    url: &str,
    options: &TableOptions,
    command: Command,
) -> anyhow::Result<Outcome>
where
    Id: authtoken::UserId + CliUserId,
{
    let lifetime = lifetime_for(&command, options.lifetime)?;
    let mut store = RedisStore::<Id>::connect(url)
        .await
        .with_context(|| format!("cannot connect to {}", connect::shown(url)))?
        .with_prefix(&options.key_prefix)
        .with_timeout(std::time::Duration::from_secs(5));
    // Plain storage on Redis is fastapi-users' layout: the user id alone in each value.
    if options.redis_details {
        store = store.with_details();
    } else if options.storage == Storage::Plain {
        store = store.with_value_format(ValueFormat::UserIdOnly);
    }
    // Refresh keys live by their own TTLs; the CLI only reads and ends families.
    let refresh = RedisRefreshStore::new(&store, std::time::Duration::from_secs(1));
    let context = Context::new(store, lifetime, options)?.with_refresh(refresh).await;
    match command {
        Command::Purge { .. } => {
            println!("nothing to purge: Redis deletes each token's key when its TTL runs out");
            Ok(Outcome::Done)
        }
        command => commands::run(&context, command).await,
    }
}
