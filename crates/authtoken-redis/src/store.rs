//! [`RedisStore`]: the storage contract on Redis keys.

use std::fmt::Display;
use std::future::Future;
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::Arc;

use authtoken::store::{AccessToken, AccessTokenStore, ListTokens, TokenColumns, TokenUse};
use authtoken::{Error, Result, UserId};
use chrono::{DateTime, TimeDelta, Utc};
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Script};

use crate::cluster_url::ClusterUrl;
use crate::keys::{ValueFormat, index_key, token_key};

/// The prefix of every key unless [`with_prefix`](RedisStore::with_prefix) says otherwise.
pub const DEFAULT_PREFIX: &str = "authtoken:";

/// Adds a member to a user's index and stretches the index's TTL to cover the new token (no TTL
/// when the token never expires): the index never expires before one of its tokens.
const INDEX_ADD: &str = r"
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl == 0 then
  redis.call('PERSIST', KEYS[1])
elseif existed == 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  local current = redis.call('PTTL', KEYS[1])
  if current >= 0 and current < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return 1
";

/// Deletes a token key only if its value names the owner: everything after the first `:` in the
/// native format (`ARGV[2]` = `native`), the field `u` of the detailed format's JSON
/// (`detailed`), the whole value when it is the user id alone. A delete
/// is announced on the revocation channel (`ARGV[3]`, message `ARGV[4]`) in the same script, so
/// no token dies unannounced, whichever process deleted it.
const DELETE_OWNED: &str = r"
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local owner = value
if ARGV[2] == 'native' then
  local colon = string.find(value, ':', 1, true)
  if not colon then return 0 end
  owner = string.sub(value, colon + 1)
elseif ARGV[2] == 'detailed' then
  local ok, doc = pcall(cjson.decode, value)
  if not ok or type(doc) ~= 'table' then return 0 end
  owner = doc['u']
end
if owner == ARGV[1] then
  local deleted = redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return deleted
end
return 0
";

/// Records a use of a detailed token (`TokenUse`): unless its last use (`l`) is at or after
/// `ARGV[2]` or it has expired (`e` before `ARGV[1]`), sets `l` to `ARGV[1]`, and with an
/// extension (`ARGV[3]`, later than `e`) moves `e` there and the key's TTL to `ARGV[4]` ms.
/// Times are µs strings: compared as numbers (exact below 2^53), written back as given.
const RECORD_USE: &str = r"
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local ok, doc = pcall(cjson.decode, value)
if not ok or type(doc) ~= 'table' then return 0 end
local function micros(field)
  local text = doc[field]
  if type(text) ~= 'string' then return nil end
  return tonumber(text)
end
local at = tonumber(ARGV[1])
local used, ends = micros('l'), micros('e')
if used and used >= tonumber(ARGV[2]) then return 0 end
if ends and ends < at then return 0 end
doc['l'] = ARGV[1]
local extended = ARGV[3] ~= '' and (not ends or tonumber(ARGV[3]) > ends)
if extended then doc['e'] = ARGV[3] end
redis.call('SET', KEYS[1], cjson.encode(doc), 'KEEPTTL')
if extended then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
";

/// One Redis or a cluster, behind the same calls.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Where the store connected: what the revocation channel needs to open connections of its own
/// (a subscription to every primary). Kept out of `Debug`: a URL may hold a password.
#[derive(Clone)]
#[cfg_attr(not(feature = "cache"), allow(dead_code))]
pub(crate) enum Source {
    /// One server's URL.
    Single(String),
    /// A cluster: its primaries are asked of it, and reached with this URL's scheme,
    /// credentials and parameters.
    Cluster(ClusterUrl),
}

/// Token rows as Redis keys; clones share the connection.
pub struct RedisStore<Id> {
    pub(crate) connection: Connection,
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(crate) source: Arc<Source>,
    timeout: Option<std::time::Duration>,
    prefix: Arc<str>,
    format: ValueFormat,
    index_add: Arc<Script>,
    delete_owned: Arc<Script>,
    record_use: Arc<Script>,
    id: PhantomData<fn() -> Id>,
}

impl<Id> Clone for RedisStore<Id> {
    fn clone(&self) -> Self {
        self.retyped()
    }
}

impl<Id> RedisStore<Id> {
    /// The same store (shared connection and all) for user ids of type `T`.
    fn retyped<T>(&self) -> RedisStore<T> {
        RedisStore {
            connection: self.connection.clone(),
            source: Arc::clone(&self.source),
            timeout: self.timeout,
            prefix: Arc::clone(&self.prefix),
            format: self.format,
            index_add: Arc::clone(&self.index_add),
            delete_owned: Arc::clone(&self.delete_owned),
            record_use: Arc::clone(&self.record_use),
            id: PhantomData,
        }
    }
}

impl<Id> std::fmt::Debug for RedisStore<Id> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.connection {
            Connection::Single(_) => "single",
            Connection::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("redis", &kind)
            .field("prefix", &self.prefix)
            .field("format", &self.format)
            .finish()
    }
}

impl<Id> RedisStore<Id> {
    /// Connects to `redis://host:port[/db]` (or `rediss://` with the `tls-rustls` feature), or to a
    /// cluster given as `redis+cluster://[user:password@]host:port,host:port,…[?params]` (any
    /// reachable nodes; the rest of the cluster is discovered), `rediss+cluster://` for TLS:
    /// every node, and every primary the revocation channel subscribes to, is reached with the
    /// URL's scheme, credentials and parameters.
    pub async fn connect(url: &str) -> Result<Self> {
        let (connection, source) = match ClusterUrl::parse(url) {
            Some(cluster) => {
                // Every node with the URL's scheme, credentials and parameters: the nodes the
                // client discovers take them from the first.
                let client = redis::cluster::ClusterClient::new(cluster.node_urls())
                    .map_err(Error::store)?;
                let connection = client.get_async_connection().await.map_err(Error::store)?;
                (Connection::Cluster(connection), Source::Cluster(cluster))
            }
            None => {
                let client = redis::Client::open(url).map_err(Error::store)?;
                // Reconnects back off to half a second at most: after a restart the connection
                // that was busy during the outage is back within a second, not after an
                // unbounded doubling.
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_max_delay(std::time::Duration::from_millis(500));
                let connection = client
                    .get_connection_manager_with_config(config)
                    .await
                    .map_err(Error::store)?;
                (Connection::Single(connection), Source::Single(url.to_owned()))
            }
        };
        Ok(Self {
            connection,
            source: Arc::new(source),
            timeout: None,
            prefix: Arc::from(DEFAULT_PREFIX),
            format: ValueFormat::Native,
            index_add: Arc::new(Script::new(INDEX_ADD)),
            delete_owned: Arc::new(Script::new(DELETE_OWNED)),
            record_use: Arc::new(Script::new(RECORD_USE)),
            id: PhantomData,
        })
    }

    /// Puts every key under `prefix` (default `authtoken:`).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Arc::from(prefix);
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The pub/sub channel every delete is announced on (in the deleting script): the prefix
    /// followed by `revocations`. A cache's revocation channel listens there.
    ///
    /// ```no_run
    /// # async fn run() -> authtoken::Result<()> {
    /// let store = authtoken_redis::RedisStore::<u64>::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.revocation_channel(), "authtoken:revocations");
    /// # Ok(()) }
    /// ```
    pub fn revocation_channel(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    /// Writes and reads values in `format` (default [`ValueFormat::Native`]). A store reads
    /// only its own format: switching logs out the tokens written in the other.
    ///
    /// Sharing keys with a fastapi-users service (its `RedisStrategy`) takes its format, its
    /// prefix and plain storage mode:
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use authtoken::{DatabaseStrategy, StorageMode};
    /// use authtoken_redis::{RedisStore, ValueFormat};
    ///
    /// # async fn run() -> authtoken::Result<()> {
    /// let store = RedisStore::<uuid::Uuid>::connect("redis://127.0.0.1:6379")
    ///     .await?
    ///     .with_prefix("fastapi_users_token:")
    ///     .with_value_format(ValueFormat::UserIdOnly);
    /// let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?
    ///     .with_storage_mode(StorageMode::Plain);
    /// # Ok(()) }
    /// ```
    pub fn with_value_format(mut self, format: ValueFormat) -> Self {
        self.format = format;
        self
    }

    /// Keeps the API-token fields (own expiry, name, scopes, last use) in each value: the
    /// [`ValueFormat::Detailed`] format, which fastapi-users cannot read (keep plain mode's
    /// format for keys shared with it). Tokens can then be issued with
    /// [`IssueOptions`](authtoken::IssueOptions), and last use and sliding expiry are tracked
    /// (a sliding extension moves the key's TTL too). Tokens written in another format stop
    /// authenticating.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use authtoken::{DatabaseStrategy, IssueOptions};
    /// use authtoken_redis::RedisStore;
    ///
    /// # async fn run() -> authtoken::Result<()> {
    /// let store = RedisStore::<u64>::connect("redis://127.0.0.1:6379").await?.with_details();
    /// let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;
    /// let ci = IssueOptions::new().name("CI").scopes(["deploy"]).lifetime(Duration::from_secs(90 * 86400));
    /// # Ok(()) }
    /// ```
    pub fn with_details(self) -> Self {
        self.with_value_format(ValueFormat::Detailed)
    }

    /// The value format.
    pub fn value_format(&self) -> ValueFormat {
        self.format
    }

    /// Fails a call that takes longer than `limit` (a stalled connection would otherwise hang
    /// the request); the connection reconnects by itself afterwards. A command that timed out
    /// may still reach Redis later (it was already sent): its caller got an error and must
    /// assume neither outcome.
    pub fn with_timeout(mut self, limit: std::time::Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Runs one call under the store's timeout, if it has one.
    async fn bounded<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        match self.timeout {
            None => call.await,
            Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                Err(Error::store(format!("Redis did not answer within {limit:?}")))
            }),
        }
    }

    /// The same store with its user id type forgotten: for the revocation channel, which
    /// publishes and lists nodes but reads no rows.
    pub(crate) fn erased(&self) -> RedisStore<()> {
        self.retyped()
    }

    /// Runs `command` on a primary: on a cluster, one chosen at random (what a primary
    /// publishes reaches every subscriber of the cluster, and in order for a subscriber of that
    /// primary).
    #[cfg(feature = "cache")]
    pub(crate) async fn query_on_primary<T: FromRedisValue>(&self, command: &Cmd) -> Result<T> {
        use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
        self.bounded(async {
            let value = match self.connection.clone() {
                Connection::Single(mut c) => command.query_async(&mut c).await,
                Connection::Cluster(mut c) => {
                    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary);
                    c.route_command(command.clone(), route).await
                }
            };
            value.and_then(|v| T::from_redis_value(v).map_err(Into::into)).map_err(Error::store)
        })
        .await
    }

    pub(crate) async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T> {
        self.bounded(async {
            match self.connection.clone() {
                Connection::Single(mut c) => command.query_async(&mut c).await,
                Connection::Cluster(mut c) => command.query_async(&mut c).await,
            }
            .map_err(Error::store)
        })
        .await
    }

    async fn query_pipeline<T: FromRedisValue>(&self, pipeline: &redis::Pipeline) -> Result<T> {
        self.bounded(async {
            match self.connection.clone() {
                Connection::Single(mut c) => pipeline.query_async(&mut c).await,
                Connection::Cluster(mut c) => pipeline.query_async(&mut c).await,
            }
            .map_err(Error::store)
        })
        .await
    }

    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        script: &Script,
        key: &str,
        args: &[String],
    ) -> Result<T> {
        let mut invocation = script.key(key);
        for arg in args {
            invocation.arg(arg);
        }
        self.bounded(async {
            match self.connection.clone() {
                Connection::Single(mut c) => invoke(&invocation, &mut c).await,
                Connection::Cluster(mut c) => invoke(&invocation, &mut c).await,
            }
        })
        .await
    }
}

async fn invoke<T: FromRedisValue>(
    invocation: &redis::ScriptInvocation<'_>,
    connection: &mut (impl ConnectionLike + Send),
) -> Result<T> {
    invocation.invoke_async(connection).await.map_err(Error::store)
}

/// When a key with `ttl_ms` left (as `PTTL` answers) at `now` expires; `None` for a key without
/// a TTL (or gone meanwhile).
fn key_expiry(now: DateTime<Utc>, ttl_ms: i64) -> Option<DateTime<Utc>> {
    // Checked: a hand-set TTL of centuries must not panic.
    TimeDelta::try_milliseconds(ttl_ms)
        .filter(|_| ttl_ms > 0)
        .and_then(|ttl| now.checked_add_signed(ttl))
}

/// Milliseconds from `created_at` to `expires_at`, at least 1; 0 for "never".
fn ttl_millis(created_at: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> i64 {
    // Keyed on the row's own times, never on this machine's clock against Redis's: the TTL is
    // the lifetime, whichever clock the strategy runs on.
    expires_at.map_or(0, |end| (end - created_at).num_milliseconds().max(1))
}

impl<Id> RedisStore<Id>
where
    Id: UserId + Display + FromStr,
{
    /// The owner-checked delete's arguments for the token key `key`, with the announcement.
    fn owner_args(&self, owner: &Id, key: &str) -> [String; 4] {
        let stored_key = key.strip_prefix(&*self.prefix).unwrap_or(key);
        [
            owner.to_string(),
            self.format.script_flag().to_owned(),
            self.revocation_channel(),
            // `Revocation::Tokens(vec![key]).to_message()`, spelt out: the store announces its
            // deletes whether or not a cache (feature `cache`) is built in.
            format!("k:{stored_key}"),
        ]
    }

    /// The row under the token key `key` (its stored key `stored_key`), read at `now`.
    ///
    /// fastapi-users' values hold the user id alone: the key's remaining TTL (one `PTTL`
    /// pipelined beside the `GET`) becomes the row's own expiry, so the strategy, and a cache in
    /// front, end the token exactly when Redis drops the key; its creation reads as `now`.
    async fn read_row(
        &self,
        key: &str,
        stored_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AccessToken<Id>>> {
        if self.format != ValueFormat::UserIdOnly {
            let found: Option<String> = self.query(redis::cmd("GET").arg(key)).await?;
            return Ok(found.and_then(|v| self.format.row(stored_key, &v, now)));
        }
        let (found, ttl_ms): (Option<String>, i64) =
            self.query_pipeline(redis::pipe().cmd("GET").arg(key).cmd("PTTL").arg(key)).await?;
        let mut row = found.and_then(|v| self.format.row::<Id>(stored_key, &v, now));
        if let Some(row) = &mut row {
            row.details.expires_at = key_expiry(now, ttl_ms);
        }
        Ok(row)
    }

    /// The rows a user's index names, removing members whose token is gone when `prune` (never
    /// under the per-user limit's lock: a login outside the limit may have added its member and
    /// not yet its token, and pruning it would hide that token from "log out everywhere").
    pub(crate) async fn rows_of(&self, owner: &Id, prune: bool) -> Result<Vec<AccessToken<Id>>> {
        let index = index_key(&self.prefix, owner);
        let members: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(&index)).await?;
        let mut rows = Vec::with_capacity(members.len());
        // One reading time for the whole list: values without a creation time of their own
        // (fastapi-users') are then ordered by their expiry alone.
        let now = Utc::now();
        for member in members {
            let stored_key = member.strip_prefix(&*self.prefix).unwrap_or(&member);
            let found = self.read_row(&member, stored_key, now).await?;
            match found.filter(|r| r.user_id == *owner) {
                Some(row) => rows.push(row),
                None if !prune => {}
                None => self
                    .query::<i64>(redis::cmd("SREM").arg(&index).arg(&member))
                    .await
                    .map(drop)?,
            }
        }
        Ok(rows)
    }
}

impl<Id> AccessTokenStore for RedisStore<Id>
where
    Id: UserId + Display + FromStr,
{
    type UserId = Id;

    async fn get(&self, token: &str) -> Result<Option<AccessToken<Id>>> {
        self.read_row(&token_key(&self.prefix, token), token, Utc::now()).await
    }

    async fn create(&self, row: AccessToken<Id>, expires_at: Option<DateTime<Utc>>) -> Result<()> {
        let key = token_key(&self.prefix, &row.token);
        let ttl = ttl_millis(row.created_at, expires_at);
        // The index first: a token key that exists is always findable by "log out everywhere".
        let index = index_key(&self.prefix, &row.user_id);
        self.script::<i64>(&self.index_add, &index, &[key.clone(), ttl.to_string()]).await?;
        let mut set = redis::cmd("SET");
        set.arg(&key).arg(self.format.value(&row)).arg("NX");
        if ttl > 0 {
            set.arg("PX").arg(ttl);
        }
        let written: Option<String> = self.query(&set).await?;
        match written {
            Some(_) => Ok(()),
            None => Err(Error::DuplicateToken),
        }
    }

    async fn delete(&self, token: &str, owner: &Id) -> Result<bool> {
        let key = token_key(&self.prefix, token);
        let deleted: i64 =
            self.script(&self.delete_owned, &key, &self.owner_args(owner, &key)).await?;
        if deleted > 0 {
            let index = index_key(&self.prefix, owner);
            self.query::<i64>(redis::cmd("SREM").arg(index).arg(&key)).await?;
        }
        Ok(deleted > 0)
    }

    async fn delete_all_of_user(&self, owner: &Id) -> Result<u64> {
        let index = index_key(&self.prefix, owner);
        let members: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(&index)).await?;
        let mut deleted = 0;
        for member in &members {
            // Only if it is still the owner's: an index member could name a key another user
            // holds (a failed duplicate insert), which must survive.
            let gone: i64 =
                self.script(&self.delete_owned, member, &self.owner_args(owner, member)).await?;
            deleted += u64::try_from(gone).unwrap_or_default();
            self.query::<i64>(redis::cmd("SREM").arg(&index).arg(member)).await?;
        }
        Ok(deleted)
    }

    fn columns(&self) -> TokenColumns {
        match self.format {
            ValueFormat::Detailed => TokenColumns::ALL,
            _ => TokenColumns::NONE,
        }
    }

    async fn record_use(&self, token: &str, used: &TokenUse) -> Result<()> {
        if self.format != ValueFormat::Detailed {
            return Ok(());
        }
        let key = token_key(&self.prefix, token);
        let micros = |at: DateTime<Utc>| at.timestamp_micros().to_string();
        let (extend_to, ttl_ms) = match used.extend_to {
            Some(to) => {
                // The user's index must outlive the extended token ("log out everywhere" finds
                // tokens through it): stretch it first, owner read from the value itself.
                // Relative to the use, as a new key's TTL is to its creation: the strategy's
                // clock, never this machine's against Redis's.
                let ttl = ttl_millis(used.at, Some(to)).to_string();
                if let Some(row) = self.get(token).await? {
                    let index = index_key(&self.prefix, &row.user_id);
                    self.script::<i64>(&self.index_add, &index, &[key.clone(), ttl.clone()])
                        .await?;
                }
                (micros(to), ttl)
            }
            None => (String::new(), String::new()),
        };
        let args = [micros(used.at), micros(used.unless_since), extend_to, ttl_ms];
        self.script::<i64>(&self.record_use, &key, &args).await.map(drop)
    }
}

impl<Id> ListTokens for RedisStore<Id>
where
    Id: UserId + Display + FromStr,
{
    async fn list_of_user(&self, owner: &Id) -> Result<Vec<AccessToken<Id>>> {
        let mut rows = self.rows_of(owner, true).await?;
        rows.sort_by(|a, b| {
            (a.created_at, a.details.expires_at, &a.token).cmp(&(
                b.created_at,
                b.details.expires_at,
                &b.token,
            ))
        });
        Ok(rows)
    }

    async fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: std::num::NonZeroU32,
    ) -> Result<Vec<AccessToken<Id>>> {
        // SCAN visits one node; a cluster's keys live on several.
        let Connection::Single(_) = self.connection else {
            return Err(Error::store(
                "finding tokens by key prefix is not supported on a Redis Cluster; list the user's tokens instead",
            ));
        };
        let pattern = format!("{}{}*", glob_escape(&self.prefix), glob_escape(prefix));
        let mut cursor = 0u64;
        let mut found = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000),
                )
                .await?;
            for key in keys {
                let stored_key = key.strip_prefix(&*self.prefix).unwrap_or(&key).to_owned();
                if stored_key.starts_with(prefix) && !stored_key.contains(':') {
                    found.extend(self.read_row(&key, &stored_key, Utc::now()).await?);
                }
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        found.sort_by(|a, b| a.token.cmp(&b.token));
        found.truncate(limit.get() as usize);
        Ok(found)
    }
}

/// `text` with Redis glob specials escaped.
fn glob_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}
