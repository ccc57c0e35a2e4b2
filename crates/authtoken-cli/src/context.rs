//! What every command works with: the strategy over the chosen store, how its table keeps
//! tokens, and the options that judge them.

use std::fmt::Display;
use std::str::FromStr;

use anyhow::{Context as _, anyhow};
use authtoken::refresh::{RefreshRow, RefreshStore};
use authtoken::{AccessTokenStore, DatabaseStrategy, HashKeys, ListTokens, StorageMode};

use crate::args::{Command, Lifetime, TableOptions, UserIdType};
use crate::secret_file;

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

/// The refresh-token store beside the token store, behind a pointer: what `list` shows each
/// token's family from and `revoke-family` ends (every store's refresh store implements it).
#[async_trait::async_trait]
pub trait CliRefresh<Id>: Send + Sync {
    /// The family an access token (by its stored key) was issued in.
    async fn family_of_access(&self, access_key: &str) -> authtoken::Result<Option<String>>;
    /// Ends a family; its rows as they were.
    async fn end_family(&self, family: &str) -> authtoken::Result<Vec<RefreshRow<Id>>>;
}

#[async_trait::async_trait]
impl<R: RefreshStore> CliRefresh<R::UserId> for R {
    async fn family_of_access(&self, access_key: &str) -> authtoken::Result<Option<String>> {
        RefreshStore::family_of_access(self, access_key).await
    }

    async fn end_family(&self, family: &str) -> authtoken::Result<Vec<RefreshRow<R::UserId>>> {
        RefreshStore::end_family(self, family).await
    }
}

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
    /// The refresh-token store, on stores that have one.
    pub refresh: Option<Box<dyn CliRefresh<S::UserId>>>,
}

/// The id types' requirements: parsed from the command line, printed back.
pub trait CliUserId: FromStr<Err: Display> + Display {}

impl<T: FromStr<Err: Display> + Display> CliUserId for T {}

impl<S: CliStore> Context<S> {
    /// The strategy over `store` as the options describe it: lifetime, storage mode, hash keys.
    pub fn new(store: S, lifetime: Lifetime, options: &TableOptions) -> anyhow::Result<Self> {
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
        let id_type = options.user_id_type;
        Ok(Self { strategy, mode, id_type, lifetime_known, keyed, refresh: None })
    }

    /// The same, with `refresh` beside the token store if its tables are there (a lookup of a
    /// key no token has answers; an application without refresh tokens has none).
    pub async fn with_refresh(
        mut self,
        refresh: impl RefreshStore<UserId = S::UserId> + 'static,
    ) -> Self {
        match refresh.get("-").await {
            Ok(_) => self.refresh = Some(Box::new(refresh)),
            Err(error) => tracing::debug!(%error, "no refresh-token tables"),
        }
        self
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
