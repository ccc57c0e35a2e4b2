//! [`RedisRefreshStore`]: refresh tokens on one Redis or a Redis Cluster, each family in one
//! hash (one slot), so that a rotation is one script.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use authtoken::refresh::{RefreshRow, RefreshStore};
use authtoken::{Error, Result, UserId};
use chrono::{DateTime, Utc};
use redis::Script;

use crate::RedisStore;

/// A family's first row: ARGV user id, start (ms), the token's field, its value, TTL (ms).
const START: &str = r"
redis.call('HSET', KEYS[1], 'u', ARGV[1], 's', ARGV[2], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
";

/// Spends the token of field ARGV[1] at ARGV[2] (ms) if it is there and unspent, and adds the
/// successor (field ARGV[3], value ARGV[4]); 1 if it did. An ended family's hash is gone.
const ROTATE: &str = r"
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return 0 end
local issued, spent, access = string.match(value, '^([^:]*):([^:]*):(.*)$')
if spent ~= '-' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], issued .. ':' .. ARGV[2] .. ':' .. access, ARGV[3], ARGV[4])
return 1
";

/// Ends a family: its hash as it was, then gone.
const END: &str = r"
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all
";

/// Refresh tokens in Redis (one server or a cluster), beside a [`RedisStore`]'s access tokens.
///
/// Keys, under the store's prefix:
/// - `refresh:{F}`: family `F`'s hash (`u` user id, `s` start, and `t:{key}` =
///   `{issued ms}:{spent ms or -}:{access key}` per token). The braces are a cluster hash tag:
///   the whole family is one slot, so rotating and ending are one script each.
/// - `refresh:k:{key}` → `F`, `refresh:a:{access key}` → `F {key}`: how a token and an access
///   token find their family. Written before the family's hash changes; one pointing at a
///   token the hash does not hold (a lost rotation, an ended family) finds nothing.
/// - `refresh:u:{user id}`: the set of the user's families.
///
/// Every key lives `max_age` (the policy's family lifetime, [`RefreshPolicy::max_age`]) from its
/// family's start, by the rows' own times: past it the strategy refuses the family anyway.
///
/// [`RefreshPolicy::max_age`]: authtoken::refresh::RefreshPolicy::max_age
///
/// ```no_run
/// use authtoken::refresh::{RefreshPolicy, RefreshStrategy};
/// use authtoken::DatabaseStrategy;
/// use authtoken_redis::{RedisRefreshStore, RedisStore};
///
/// # async fn run() -> authtoken::Result<()> {
/// let store = RedisStore::<u64>::connect("redis://127.0.0.1:6379").await?;
/// let policy = RefreshPolicy::default();
/// let refresh = RedisRefreshStore::new(&store, policy.max_age());
/// let access = DatabaseStrategy::new(store, Some(std::time::Duration::from_secs(900)))?;
/// let tokens = RefreshStrategy::new(access, refresh, policy)?;
/// # Ok(()) }
/// ```
pub struct RedisRefreshStore<Id> {
    store: RedisStore<Id>,
    max_age: Duration,
    start: Script,
    rotate: Script,
    end: Script,
}

impl<Id> RedisRefreshStore<Id> {
    /// Refresh tokens on `store`'s connection, under its prefix and timeout; keys live `max_age`.
    pub fn new(store: &RedisStore<Id>, max_age: Duration) -> Self {
        Self {
            store: store.clone(),
            max_age,
            start: Script::new(START),
            rotate: Script::new(ROTATE),
            end: Script::new(END),
        }
    }

    fn family_key(&self, family: &str) -> String {
        format!("{}refresh:{{{family}}}", self.store.prefix())
    }

    fn token_index(&self, key: &str) -> String {
        format!("{}refresh:k:{key}", self.store.prefix())
    }

    fn access_index(&self, access_key: &str) -> String {
        format!("{}refresh:a:{access_key}", self.store.prefix())
    }

    fn user_index(&self, user: &impl Display) -> String {
        format!("{}refresh:u:{user}", self.store.prefix())
    }

    /// Milliseconds the keys of a family started at `started` still live at `at`, at least 1.
    fn ttl_ms(&self, started: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
        let max_age = i64::try_from(self.max_age.as_millis()).unwrap_or(i64::MAX);
        max_age.saturating_sub((at - started).num_milliseconds().max(0)).max(1)
    }

    /// The indexes of `row`'s token and access token, before the family's hash holds them.
    async fn write_indexes<U>(&self, row: &RefreshRow<U>, ttl: i64) -> Result<()> {
        let family = row.family.as_str();
        let by_token = redis::cmd("SET")
            .arg(self.token_index(&row.key))
            .arg(family)
            .arg("PX")
            .arg(ttl)
            .clone();
        self.store.query::<()>(&by_token).await?;
        let pointer = format!("{family} {}", row.key);
        let by_access = redis::cmd("SET")
            .arg(self.access_index(&row.access_key))
            .arg(pointer)
            .arg("PX")
            .arg(ttl)
            .clone();
        self.store.query::<()>(&by_access).await
    }
}

impl<Id> Clone for RedisRefreshStore<Id> {
    fn clone(&self) -> Self {
        Self::new(&self.store, self.max_age)
    }
}

impl<Id> std::fmt::Debug for RedisRefreshStore<Id> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRefreshStore")
            .field("store", &self.store)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// A token's field in its family's hash.
fn field(key: &str) -> String {
    format!("t:{key}")
}

/// A token's value in its family's hash.
fn value<U>(row: &RefreshRow<U>) -> String {
    let spent = row.spent_at.map_or_else(|| "-".to_owned(), |at| at.timestamp_millis().to_string());
    format!("{}:{spent}:{}", row.issued_at.timestamp_millis(), row.access_key)
}

fn corrupt(what: &str) -> Error {
    Error::store(std::io::Error::other(format!("a refresh family's {what} is malformed")))
}

fn time(ms: &str) -> Result<DateTime<Utc>> {
    ms.parse().ok().and_then(DateTime::from_timestamp_millis).ok_or_else(|| corrupt("time"))
}

/// One token of family `family` (owned by `user`, started at `started`) from its hash field.
fn decode<Id>(
    family: &str,
    user: &Id,
    started: DateTime<Utc>,
    key: &str,
    value: &str,
) -> Result<RefreshRow<Id>>
where
    Id: Clone,
{
    let mut parts = value.splitn(3, ':');
    let (Some(issued), Some(spent), Some(access)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(corrupt("token"));
    };
    Ok(RefreshRow {
        key: key.to_owned(),
        family: family.to_owned(),
        user_id: user.clone(),
        family_started_at: started,
        issued_at: time(issued)?,
        access_key: access.to_owned(),
        spent_at: if spent == "-" { None } else { Some(time(spent)?) },
    })
}

/// Every row of a family from its hash's fields (`HGETALL`, flattened); none for a gone hash.
fn decode_family<Id>(family: &str, fields: &[String]) -> Result<Vec<RefreshRow<Id>>>
where
    Id: Clone + FromStr,
{
    let pairs: Vec<(&str, &str)> =
        fields.chunks_exact(2).map(|pair| (pair[0].as_str(), pair[1].as_str())).collect();
    let get = |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let (Some(user), Some(started)) = (get("u"), get("s")) else {
        return Ok(Vec::new());
    };
    let user: Id = user.parse().map_err(|_| corrupt("user id"))?;
    let started = time(started)?;
    pairs
        .iter()
        .filter_map(|(name, value)| name.strip_prefix("t:").map(|key| (key, value)))
        .map(|(key, value)| decode(family, &user, started, key, value))
        .collect()
}

impl<Id> RefreshStore for RedisRefreshStore<Id>
where
    Id: UserId + Display + FromStr,
{
    type UserId = Id;

    async fn get(&self, key: &str) -> Result<Option<RefreshRow<Id>>> {
        let family: Option<String> =
            self.store.query(redis::cmd("GET").arg(self.token_index(key))).await?;
        let Some(family) = family else { return Ok(None) };
        let read = redis::cmd("HMGET")
            .arg(self.family_key(&family))
            .arg("u")
            .arg("s")
            .arg(field(key))
            .clone();
        let (user, started, token): (Option<String>, Option<String>, Option<String>) =
            self.store.query(&read).await?;
        let (Some(user), Some(started), Some(token)) = (user, started, token) else {
            return Ok(None);
        };
        let user: Id = user.parse().map_err(|_| corrupt("user id"))?;
        decode(&family, &user, time(&started)?, key, &token).map(Some)
    }

    async fn start_family(&self, first: RefreshRow<Id>) -> Result<()> {
        let ttl = self.ttl_ms(first.family_started_at, first.issued_at);
        let users = self.user_index(&first.user_id);
        self.store.query::<i64>(redis::cmd("SADD").arg(&users).arg(&first.family)).await?;
        self.store.query::<i64>(redis::cmd("PEXPIRE").arg(&users).arg(ttl)).await?;
        self.write_indexes(&first, ttl).await?;
        let args = [
            first.user_id.to_string(),
            first.family_started_at.timestamp_millis().to_string(),
            field(&first.key),
            value(&first),
            ttl.to_string(),
        ];
        self.store.script::<i64>(&self.start, &self.family_key(&first.family), &args).await?;
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &str,
        at: DateTime<Utc>,
        next: RefreshRow<Id>,
    ) -> Result<bool> {
        let family: Option<String> =
            self.store.query(redis::cmd("GET").arg(self.token_index(presented))).await?;
        if family.as_deref() != Some(next.family.as_str()) {
            return Ok(false);
        }
        self.write_indexes(&next, self.ttl_ms(next.family_started_at, at)).await?;
        let args =
            [field(presented), at.timestamp_millis().to_string(), field(&next.key), value(&next)];
        let rotated: i64 =
            self.store.script(&self.rotate, &self.family_key(&next.family), &args).await?;
        Ok(rotated == 1)
    }

    async fn end_family(&self, family: &str) -> Result<Vec<RefreshRow<Id>>> {
        let fields: Vec<String> =
            self.store.script(&self.end, &self.family_key(family), &[]).await?;
        let rows: Vec<RefreshRow<Id>> = decode_family(family, &fields)?;
        // The hash is gone: what points at it finds nothing. Tidied now rather than at its TTL.
        for row in &rows {
            self.store.query::<i64>(redis::cmd("DEL").arg(self.token_index(&row.key))).await?;
            self.store
                .query::<i64>(redis::cmd("DEL").arg(self.access_index(&row.access_key)))
                .await?;
        }
        if let Some(row) = rows.first() {
            let users = self.user_index(&row.user_id);
            self.store.query::<i64>(redis::cmd("SREM").arg(users).arg(family)).await?;
        }
        Ok(rows)
    }

    async fn user_rows(&self, user_id: &Id) -> Result<Vec<RefreshRow<Id>>> {
        let users = self.user_index(user_id);
        let families: Vec<String> = self.store.query(redis::cmd("SMEMBERS").arg(&users)).await?;
        let mut rows = Vec::new();
        for family in families {
            let fields: Vec<String> =
                self.store.query(redis::cmd("HGETALL").arg(self.family_key(&family))).await?;
            let found: Vec<RefreshRow<Id>> = decode_family(&family, &fields)?;
            rows.extend(found.into_iter().filter(|row| row.user_id == *user_id));
        }
        Ok(rows)
    }

    async fn family_of_access(&self, access_key: &str) -> Result<Option<String>> {
        let pointer: Option<String> =
            self.store.query(redis::cmd("GET").arg(self.access_index(access_key))).await?;
        let Some((family, key)) = pointer.as_deref().and_then(|p| p.split_once(' ')) else {
            return Ok(None);
        };
        let held: bool = self
            .store
            .query(redis::cmd("HEXISTS").arg(self.family_key(family)).arg(field(key)))
            .await?;
        Ok(held.then(|| family.to_owned()))
    }
}
