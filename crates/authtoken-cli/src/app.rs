//! Connects, checks the table, builds the strategy for the chosen user id type, and dispatches.

use std::fmt::Display;
use std::str::FromStr;

use anyhow::{Context as _, anyhow};
use authtoken::{AccessTokenStore, DatabaseStrategy, HashKeys, ListTokens, StorageMode};
use authtoken_mongodb::mongodb::bson::oid::ObjectId;
use authtoken_mongodb::{Layout, MongoStore, MongoUserId, UuidRepresentation};
use authtoken_redis::RedisStore;
use authtoken_sea_orm::access_token::{by_i32, by_i64, by_string, by_uuid};
use authtoken_sea_orm::{AccessTokenEntity, SeaOrmStore};
use sea_orm::DatabaseConnection;

use crate::args::{Cli, Command, Lifetime, MongoLayout, Orm, TableOptions, UserIdType};
use crate::{commands, connect, secret_file};

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; or the token asked about is valid.
    Done,
    /// A negative answer: the token is not valid, or there was nothing to revoke.
    No,
}

/// What every command but `purge` needs of a store: the required contract and listing. The
/// commands are written against these traits only, so any store that has them can be driven;
/// `purge` also needs [`PurgeExpired`](authtoken::PurgeExpired).
pub trait CliStore: AccessTokenStore<UserId: CliUserId> + ListTokens {}

impl<S: AccessTokenStore<UserId: CliUserId> + ListTokens> CliStore for S {}

/// What every command works with.
pub struct Context<S: CliStore> {
    /// The strategy over the token store.
    pub strategy: DatabaseStrategy<S>,
    /// How the table keeps tokens.
    pub mode: StorageMode,
    /// `--user-id-type`, for messages.
    pub id_type: UserIdType,
    /// Whether `--lifetime` was given: without it only rows with their own expiry can be judged.
    pub lifetime_known: bool,
    /// Whether `--hash-key-file` was given.
    pub keyed: bool,
}

/// The id types' requirements: parsed from the command line, printed back.
pub trait CliUserId: FromStr<Err: Display> + Display {}

impl<T: FromStr<Err: Display> + Display> CliUserId for T {}

impl<S: CliStore> Context<S> {
    /// The strategy over `store` as the options describe it: lifetime, storage mode, hash keys.
    fn new(store: S, lifetime: Lifetime, options: &TableOptions) -> anyhow::Result<Self> {
        let mode = options.storage.into();
        let mut strategy = DatabaseStrategy::new(store, lifetime)?.with_storage_mode(mode);
        if let Some(path) = &options.hash_key_file {
            strategy = strategy.with_hash_keys(hash_keys(path)?);
        }
        if let Some(prefix) = &options.token_prefix {
            strategy = strategy.with_token_format(authtoken::TokenFormat::prefixed(prefix)?)?;
        }
        let lifetime_known = options.lifetime.is_some();
        let keyed = options.hash_key_file.is_some();
        Ok(Self { strategy, mode, id_type: options.user_id_type, lifetime_known, keyed })
    }

    /// After "unknown token": the likeliest reason an operator sees it for a live token is a
    /// missing key file (a keyed row cannot be found from the token without its key).
    pub fn hint_if_keys_may_be_missing(&self) {
        if !self.keyed && self.mode == StorageMode::Hashed {
            eprintln!(
                "note: no --hash-key-file was given; if the application stores keyed hashes \
                 (with_hash_keys), its tokens are found only with its key file"
            );
        }
    }

    /// Parses a user id given on the command line.
    pub fn user_id(&self, text: &str) -> anyhow::Result<S::UserId> {
        text.parse().map_err(|e| {
            let kind = format!("{:?}", self.id_type).to_lowercase();
            anyhow!("malformed user id `{text}` for --user-id-type {kind}: {e}")
        })
    }
}

/// Runs the command on the table the options describe.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // Here, not where the file is read: `main` reads it too, for the secrets to scrub.
    if let Some(path) = &cli.table.database_url_file {
        secret_file::warn_if_shared(path);
    }
    let url = connect::database_url(&cli.table)?;
    connect::check(&url, cli.table.allow_plaintext)?;
    if connect::is_mongodb(&url) {
        if cli.table.orm == Orm::Diesel {
            anyhow::bail!("--orm diesel is for SQL databases (sqlite, postgres, mysql)");
        }
        let (url, options, command) = (&url, &cli.table, cli.command);
        return match cli.table.user_id_type {
            UserIdType::Objectid => run_mongodb::<ObjectId>(url, options, command).await,
            UserIdType::Uuid => run_mongodb::<uuid::Uuid>(url, options, command).await,
            UserIdType::I32 => run_mongodb::<i32>(url, options, command).await,
            UserIdType::I64 => run_mongodb::<i64>(url, options, command).await,
            UserIdType::String => run_mongodb::<String>(url, options, command).await,
        };
    }
    if cli.table.user_id_type == UserIdType::Objectid {
        anyhow::bail!("--user-id-type objectid is for MongoDB (a mongodb:// URL)");
    }
    if cli.table.orm == Orm::Diesel {
        if connect::is_redis(&url) {
            anyhow::bail!("--orm diesel is for SQL databases (sqlite, postgres, mysql)");
        }
        return crate::diesel_store::run(&url, &cli.table, cli.command).await;
    }
    if connect::is_redis(&url) {
        return match cli.table.user_id_type {
            UserIdType::Uuid => run_redis::<uuid::Uuid>(&url, &cli.table, cli.command).await,
            UserIdType::I32 => run_redis::<i32>(&url, &cli.table, cli.command).await,
            UserIdType::I64 => run_redis::<i64>(&url, &cli.table, cli.command).await,
            UserIdType::String => run_redis::<String>(&url, &cli.table, cli.command).await,
            UserIdType::Objectid => unreachable!("refused above"),
        };
    }
    let db = connect::connect(&url).await?;
    match cli.table.user_id_type {
        UserIdType::Uuid => run_with::<by_uuid::Entity>(db, &cli.table, cli.command).await,
        UserIdType::I32 => run_with::<by_i32::Entity>(db, &cli.table, cli.command).await,
        UserIdType::I64 => run_with::<by_i64::Entity>(db, &cli.table, cli.command).await,
        UserIdType::String => run_with::<by_string::Entity>(db, &cli.table, cli.command).await,
        UserIdType::Objectid => unreachable!("refused above"),
    }
}

async fn run_with<E>(
    db: DatabaseConnection,
    options: &TableOptions,
    command: Command,
) -> anyhow::Result<Outcome>
where
    E: AccessTokenEntity<UserId: CliUserId>,
{
    let lifetime = lifetime_for(&command, options.lifetime)?;
    let store = SeaOrmStore::<E>::new(db).with_table(&options.table).detect_details().await?;
    store.check_table().await?;
    tracing::debug!(table = %options.table, "the token table matches");
    run_purgeable(store, lifetime, options, command).await
}

/// The same commands on Redis, whose keys expire by themselves: `purge` has nothing to do.
async fn run_redis<Id>(
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
    if options.redis_details {
        store = store.with_details();
    }
    let context = Context::new(store, lifetime, options)?;
    match command {
        Command::Purge { .. } => {
            println!("nothing to purge: Redis deletes each token's key when its TTL runs out");
            Ok(Outcome::Done)
        }
        command => dispatch(&context, command).await,
    }
}

/// The same commands on MongoDB (the database named in the URL, the collection `--table`).
async fn run_mongodb<Id>(
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
    run_purgeable(store, lifetime, options, command).await
}

/// The lifetime a command works with. Those that judge expiry need it said (a duration or
/// `none`): assuming "never expires" would report expired tokens as valid.
/// `issue` needs one too unless the token has its own (`--expires-in`): a token issued under a
/// forgotten lifetime would never expire (on Redis, a key without a TTL).
pub fn lifetime_for(command: &Command, lifetime: Option<Lifetime>) -> anyhow::Result<Lifetime> {
    let name = match command {
        Command::List { .. } => "list",
        Command::Purge { .. } => "purge",
        Command::Issue { expires_in: None, .. } => "issue",
        _ => return Ok(lifetime.flatten()),
    };
    lifetime.ok_or_else(|| {
        anyhow!(
            "{name} needs --lifetime (or AUTHTOKEN_LIFETIME): the tokens' lifetime, such as 1h, \
             or none if they never expire"
        )
    })
}

/// Runs the command on a store that also purges (every SQL store, MongoDB).
pub async fn run_purgeable<S: CliStore + authtoken::PurgeExpired>(
    store: S,
    lifetime: Lifetime,
    options: &TableOptions,
    command: Command,
) -> anyhow::Result<Outcome> {
    let context = Context::new(store, lifetime, options)?;
    match command {
        Command::Purge { dry_run, batch_size } => {
            commands::purge(&context, dry_run, batch_size).await
        }
        command => dispatch(&context, command).await,
    }
}

/// Runs one command against any store the CLI can drive.
async fn dispatch<S: CliStore>(context: &Context<S>, command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Issue { user, name, scopes, expires_in } => {
            let mut options = authtoken::IssueOptions::new().scopes(scopes);
            if let Some(name) = name {
                options = options.name(name);
            }
            if let Some(lifetime) = expires_in {
                options = options.lifetime(lifetime);
            }
            commands::issue(context, &user, &options).await
        }
        Command::Verify { token } => commands::verify(context, &token_argument(token)?).await,
        Command::Revoke { token: Some(token), .. } => {
            commands::revoke(context, &token_argument(token)?).await
        }
        Command::Revoke { token: None, fingerprint, user } => {
            let fingerprint = fingerprint.unwrap_or_default();
            commands::revoke_fingerprint(context, &fingerprint, user.as_deref()).await
        }
        Command::RevokeUser { user } => commands::revoke_user(context, &user).await,
        Command::List { user } => commands::list(context, &user).await,
        Command::Purge { .. } => unreachable!("purge is dispatched by the store's runner"),
    }
}

/// A token argument; `-` reads it from standard input, so it stays out of `argv`.
fn token_argument(token: String) -> anyhow::Result<String> {
    if token != "-" {
        return Ok(token);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("cannot read the token from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// The keys of `--hash-key-file`: one base64 key per line, the current first.
fn hash_keys(path: &std::path::Path) -> anyhow::Result<HashKeys> {
    secret_file::warn_if_shared(path);
    use base64::Engine;
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let engines = [
        GeneralPurpose::new(&base64::alphabet::STANDARD, lenient),
        GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient),
    ];
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --hash-key-file {}", path.display()))?;
    let mut ring: Option<HashKeys> = None;
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = engines
            .iter()
            .find_map(|engine| engine.decode(line).ok())
            .ok_or_else(|| anyhow!("--hash-key-file line {number} is not base64"))?;
        let added = match ring {
            None => HashKeys::new(&key),
            Some(ring) => ring.with_previous(&key),
        };
        ring = Some(added.map_err(|e| anyhow!("--hash-key-file line {number}: {e}"))?);
    }
    ring.ok_or_else(|| anyhow!("--hash-key-file {} holds no key", path.display()))
}
