//! The commands on authtoken-diesel's store (`--orm diesel`): the statements a Diesel
//! application runs, on the same table the SeaORM store reads.

use std::time::Duration;

use anyhow::Context as _;
use authtoken_diesel::sql_types::{BigInt, Integer, Text, Uuid};
use authtoken_diesel::{
    AccessTokenTable, AsyncMysqlConnection, AsyncPgConnection, DieselRefreshStore, DieselStore,
    IdOf, IdOn, SqliteConnection, StoreConnection,
};

use crate::args::{Command, TableOptions, UserIdType};
use crate::commands::run_purgeable;
use crate::connect;
use crate::context::{CliUserId, Context, Outcome, lifetime_for};

/// The token table for each user id type; `--table` names the real one.
mod tables {
    authtoken_diesel::access_token_table!(by_uuid, user_id = Uuid);
    authtoken_diesel::access_token_table!(by_i32, user_id = Integer);
    authtoken_diesel::access_token_table!(by_i64, user_id = BigInt);
    authtoken_diesel::access_token_table!(by_string, user_id = Text);
}

/// What a connection type must run: the store's statements for every id type.
trait CliConnection: IdOn<Uuid> + IdOn<Integer> + IdOn<BigInt> + IdOn<Text> {}

impl<C: IdOn<Uuid> + IdOn<Integer> + IdOn<BigInt> + IdOn<Text>> CliConnection for C {}

/// Runs the command on the SQL database of `url` through the Diesel store.
pub async fn run(url: &str, options: &TableOptions, command: Command) -> anyhow::Result<Outcome> {
    if url.starts_with("sqlite:") {
        return run_on::<SqliteConnection>(&sqlite_uri(url), url, options, command).await;
    }
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    match scheme {
        "postgres" => run_on::<AsyncPgConnection>(url, url, options, command).await,
        "mysql" | "mariadb" => {
            if mysql_asks_for_tls(url) {
                anyhow::bail!(
                    "--orm diesel has no TLS to MySQL/MariaDB yet: leave --orm out (the SeaORM \
                     store has TLS), or on a trusted network drop ssl-mode from the URL"
                );
            }
            // The MySQL driver knows the `mysql` scheme only.
            let url = format!("mysql://{}", &url[scheme.len() + 3..]);
            run_on::<AsyncMysqlConnection>(&url, &url, options, command).await
        }
        _ => anyhow::bail!("--orm diesel is for SQL databases (sqlite, postgres, mysql)"),
    }
}

/// `ssl-mode=…` (or `sslmode`) in a MySQL URL.
fn mysql_asks_for_tls(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|url| {
        url.query_pairs()
            .any(|(key, _)| matches!(&*key.to_ascii_lowercase(), "ssl-mode" | "sslmode"))
    })
}

/// A SQLite URL as SQLite's own URI, `file:path?mode=rw`: opened read-write, never created
/// (the CLI opens existing databases only).
fn sqlite_uri(url: &str) -> String {
    let url = connect::never_create(url);
    let (path, query) = connect::sqlite_file(&url);
    format!("file:{path}?{query}")
}

/// Opens a pool on `url` (`shown` names it in messages) and runs the command for the id type.
async fn run_on<C: CliConnection>(
    url: &str,
    shown: &str,
    options: &TableOptions,
    command: Command,
) -> anyhow::Result<Outcome> {
    tracing::debug!(database = %connect::shown(shown), "connecting through Diesel");
    let pool = authtoken_diesel::connect::<C>(url, 2)
        .await
        .with_context(|| format!("cannot connect to {}", connect::shown(shown)))?;
    match options.user_id_type {
        UserIdType::Uuid => run_with::<tables::by_uuid::table, C>(pool, options, command).await,
        UserIdType::I32 => run_with::<tables::by_i32::table, C>(pool, options, command).await,
        UserIdType::I64 => run_with::<tables::by_i64::table, C>(pool, options, command).await,
        UserIdType::String => run_with::<tables::by_string::table, C>(pool, options, command).await,
        UserIdType::Objectid => anyhow::bail!("--user-id-type objectid is for MongoDB"),
    }
}

async fn run_with<T, C>(
    pool: C::Pool,
    options: &TableOptions,
    command: Command,
) -> anyhow::Result<Outcome>
where
    T: AccessTokenTable,
    C: StoreConnection + IdOn<T::UserIdSql>,
    IdOf<T>: CliUserId,
{
    let lifetime = lifetime_for(&command, options.lifetime)?;
    let store = DieselStore::<T, C>::new(pool)
        .with_table(&options.table)
        .with_timeout(Duration::from_secs(5))
        .detect_details()
        .await?;
    store.check_table().await?;
    tracing::debug!(table = %options.table, "the token table matches");
    let refresh = DieselRefreshStore::new(&store);
    let context = Context::new(store, lifetime, options)?.with_refresh(refresh).await;
    run_purgeable(context, command).await
}
