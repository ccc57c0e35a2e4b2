//! [`MongoStore`]: the storage contract on a MongoDB collection.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use authtoken::store::{
    AccessToken, AccessTokenStore, ListTokens, PurgeExpired, TokenColumns, TokenUse,
};
use authtoken::{Error, Result};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};

use crate::documents::{DROP_AFTER, EXPIRES_AT, LAST_USED_AT, date, from_document, to_document};
use crate::{Layout, MongoUserId, UuidRepresentation};

/// Token documents in one collection; clones share the client.
///
/// Every read checks the key exactly (MongoDB compares strings byte for byte) and the strategy
/// checks expiry on the returned document, so a lazy TTL deletion never lets an expired token in.
pub struct MongoStore<Id> {
    pub(crate) database: Database,
    pub(crate) collection: Collection<Document>,
    pub(crate) layout: Arc<Layout>,
    timeout: Option<Duration>,
    ttl_index: bool,
    pub(crate) uuids: UuidRepresentation,
    id: PhantomData<fn() -> Id>,
}

impl<Id> Clone for MongoStore<Id> {
    fn clone(&self) -> Self {
        Self {
            database: self.database.clone(),
            collection: self.collection.clone(),
            layout: Arc::clone(&self.layout),
            timeout: self.timeout,
            ttl_index: self.ttl_index,
            uuids: self.uuids,
            id: PhantomData,
        }
    }
}

impl<Id> std::fmt::Debug for MongoStore<Id> {
    // The client's options may hold a password: only where the tokens are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.database.name())
            .field("layout", &self.layout)
            .field("ttl_index", &self.ttl_index)
            .finish_non_exhaustive()
    }
}

impl<Id> MongoStore<Id> {
    /// Connects to `mongodb://host:port/database` (the database named in the URL; the
    /// collection is the layout's, `access_token` unless [`with_layout`](Self::with_layout)
    /// says otherwise). No connection is made until the first call.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = ClientOptions::parse(url).await.map_err(Error::store)?;
        let Some(name) = options.default_database.clone() else {
            return Err(Error::Config(
                "the MongoDB URL names no database (mongodb://host/DATABASE)",
            ));
        };
        let client = Client::with_options(options).map_err(Error::store)?;
        Ok(Self::new(&client.database(&name)))
    }

    /// A store in `database`, on the [native layout](Layout::native).
    pub fn new(database: &Database) -> Self {
        let layout = Layout::native();
        Self {
            database: database.clone(),
            collection: database.collection(&layout.collection),
            layout: Arc::new(layout),
            timeout: None,
            ttl_index: false,
            uuids: UuidRepresentation::default(),
            id: PhantomData,
        }
    }

    /// Keeps tokens as `layout` says: [`Layout::beanie`] to share them with fastapi-users.
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.collection = self.database.collection(&layout.collection);
        self.layout = Arc::new(layout);
        self
    }

    /// Writes each document's expiry into `drop_after`, and
    /// [`ensure_indexes`](Self::ensure_indexes) makes it a TTL index, so that MongoDB drops
    /// expired documents itself (its TTL monitor runs about once a minute: expiry is still
    /// checked on every read). Tokens that never expire get no `drop_after`.
    pub fn with_ttl_index(mut self) -> Self {
        self.ttl_index = true;
        self
    }

    /// Writes UUID user ids as `uuids` says (binary subtype 4 unless told otherwise); either
    /// form reads back, and logouts, listings and the limit match both. Other id types ignore
    /// it.
    pub fn with_uuid_representation(mut self, uuids: UuidRepresentation) -> Self {
        self.uuids = uuids;
        self
    }

    /// Fails a call that takes longer than `limit` (a stalled connection would otherwise hold
    /// the request until the driver gives up, 30 s by default).
    pub fn with_timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The collection the tokens are in.
    pub fn collection(&self) -> &Collection<Document> {
        &self.collection
    }

    /// The layout of the documents.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Creates the indexes the store's queries use, if they are missing: the key (unique,
    /// unless it is `_id`), the user (log out everywhere, listing), the creation time (purge),
    /// and with [`with_ttl_index`](Self::with_ttl_index) the TTL index on `drop_after`.
    /// Idempotent; run it at start-up or from a migration.
    pub async fn ensure_indexes(&self) -> Result<()> {
        let mut indexes = Vec::new();
        if !self.layout.keyed_by_id() {
            let unique = IndexOptions::builder().unique(true).build();
            indexes.push(index(&self.layout.key, Some(unique)));
        }
        indexes.push(index(&self.layout.user, None));
        indexes.push(index(&self.layout.created_at, None));
        if self.ttl_index {
            let ttl = IndexOptions::builder().expire_after(Duration::ZERO).build();
            indexes.push(index(DROP_AFTER, Some(ttl)));
        }
        for model in indexes {
            self.bounded(self.collection.create_index(model).into_future()).await?;
        }
        Ok(())
    }

    /// Runs one driver call under the store's timeout, if it has one.
    pub(crate) async fn bounded<T>(
        &self,
        call: impl Future<Output = mongodb::error::Result<T>>,
    ) -> Result<T> {
        let outcome = match self.timeout {
            None => call.await,
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .map_err(|_| Error::store(format!("MongoDB did not answer within {limit:?}")))?,
        };
        outcome.map_err(store_error)
    }

    /// `{key: token}`.
    fn by_key(&self, token: &str) -> Document {
        doc! { self.layout.key.as_str(): token }
    }
}

fn index(field: &str, options: Option<IndexOptions>) -> IndexModel {
    IndexModel::builder().keys(doc! { field: 1 }).options(options).build()
}

/// A driver error as the core crate reports it.
pub(crate) fn store_error(error: mongodb::error::Error) -> Error {
    if is_duplicate_key(&error) { Error::DuplicateToken } else { Error::store(error) }
}

fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    matches!(&*error.kind, ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == 11000)
}

impl<Id: MongoUserId> MongoStore<Id> {
    /// `{user: {$in: [owner's stored forms]}}`: every form a read accepts (a UUID as binary or
    /// text), and an `$in` even for one form, since NX-27017 does not match an equality on an
    /// ObjectId (the two are the same query to MongoDB).
    fn by_user(&self, owner: &Id) -> Document {
        doc! { self.layout.user.as_str(): { "$in": owner.stored_forms() } }
    }

    async fn find_rows(
        &self,
        filter: Document,
        sort: Document,
        limit: Option<i64>,
    ) -> Result<Vec<AccessToken<Id>>> {
        let mut find = self.collection.find(filter).sort(sort);
        if let Some(limit) = limit {
            find = find.limit(limit);
        }
        let documents: Vec<Document> =
            self.bounded(async { find.await?.try_collect().await }).await?;
        documents.iter().map(|d| from_document(&self.layout, d)).collect()
    }

    /// Deletes at most `limit` documents matching `filter`, oldest first: the `_id`s of a
    /// batch, then a delete of those that still match (a bounded `delete_many` has no limit).
    async fn delete_batch(&self, filter: Document, limit: NonZeroU32) -> Result<u64> {
        let created = self.layout.created_at.as_str();
        let find = self
            .collection
            .find(filter.clone())
            .sort(doc! { created: 1 })
            .limit(i64::from(limit.get()))
            .projection(doc! { "_id": 1 });
        let ids: Vec<Document> = self.bounded(async { find.await?.try_collect().await }).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        // At most `limit`, whatever the server made of the limit.
        let ids: Vec<Bson> = ids
            .into_iter()
            .filter_map(|mut d| d.remove("_id"))
            .take(limit.get() as usize)
            .collect();
        let batch = doc! { "$and": [filter, { "_id": { "$in": ids } }] };
        let deleted = self.bounded(self.collection.delete_many(batch).into_future()).await?;
        Ok(deleted.deleted_count)
    }

    /// Created before `cutoff`, without an expiry of its own.
    fn created_before(&self, cutoff: DateTime<Utc>) -> Document {
        doc! {
            self.layout.created_at.as_str(): { "$lt": date(cutoff) },
            EXPIRES_AT: Bson::Null,
        }
    }

    /// Expired either way: its own expiry before `now`, or none and created before `cutoff`.
    fn expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Document {
        doc! { "$or": [self.created_before(cutoff), { EXPIRES_AT: { "$lt": date(now) } }] }
    }
}

impl<Id: MongoUserId> AccessTokenStore for MongoStore<Id> {
    type UserId = Id;

    async fn get(&self, token: &str) -> Result<Option<AccessToken<Id>>> {
        let found =
            self.bounded(self.collection.find_one(self.by_key(token)).into_future()).await?;
        let Some(document) = found else { return Ok(None) };
        let row = from_document::<Id>(&self.layout, &document)?;
        // Exact, whatever collation the collection has.
        let exact = row.token == token;
        Ok(exact.then_some(row))
    }

    async fn create(&self, row: AccessToken<Id>, expires_at: Option<DateTime<Utc>>) -> Result<()> {
        let drop_after = if self.ttl_index { expires_at } else { None };
        let user = row.user_id.to_bson_as(self.uuids);
        let document = to_document(&self.layout, &row, user, drop_after);
        self.bounded(self.collection.insert_one(document).into_future()).await.map(drop)
    }

    async fn delete(&self, token: &str, owner: &Id) -> Result<bool> {
        let mut filter = self.by_key(token);
        filter.extend(self.by_user(owner));
        let deleted = self.bounded(self.collection.delete_one(filter).into_future()).await?;
        Ok(deleted.deleted_count > 0)
    }

    async fn delete_all_of_user(&self, owner: &Id) -> Result<u64> {
        let filter = self.by_user(owner);
        let deleted = self.bounded(self.collection.delete_many(filter).into_future()).await?;
        Ok(deleted.deleted_count)
    }

    /// Documents take any field: every detail is kept.
    fn columns(&self) -> TokenColumns {
        TokenColumns::ALL
    }

    /// A compare-and-replace of the document, conditional on the last use it was read with
    /// (processes racing over one token write once); unknown fields are kept.
    async fn record_use(&self, token: &str, used: &TokenUse) -> Result<()> {
        let found =
            self.bounded(self.collection.find_one(self.by_key(token)).into_future()).await?;
        let Some(mut document) = found else { return Ok(()) };
        let row = from_document::<Id>(&self.layout, &document)?;
        if !used.applies_to(&row.details) {
            return Ok(());
        }
        let mut details = row.details.clone();
        used.apply(&mut details);
        let Some(id) = document.remove("_id") else { return Ok(()) };
        let previous = row.details.last_used_at.map_or(Bson::Null, date);
        document.insert(LAST_USED_AT, details.last_used_at.map_or(Bson::Null, date));
        if let Some(end) = details.expires_at.filter(|end| Some(*end) != row.details.expires_at) {
            document.insert(EXPIRES_AT, date(end));
            if self.ttl_index {
                document.insert(DROP_AFTER, date(end));
            }
        }
        let filter = doc! { "_id": id, LAST_USED_AT: previous };
        // A racing process that wrote first leaves nothing to match: its write stands.
        self.bounded(self.collection.replace_one(filter, document).into_future()).await.map(drop)
    }
}

impl<Id: MongoUserId> ListTokens for MongoStore<Id> {
    async fn list_of_user(&self, owner: &Id) -> Result<Vec<AccessToken<Id>>> {
        let (created, key) = (self.layout.created_at.as_str(), self.layout.key.as_str());
        let filter = self.by_user(owner);
        let mut rows = self.find_rows(filter, doc! { created: 1, key: 1 }, None).await?;
        rows.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.token.cmp(&b.token)));
        Ok(rows)
    }

    async fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: NonZeroU32,
    ) -> Result<Vec<AccessToken<Id>>> {
        // A key range: `~` sorts after every base64url character.
        let key = self.layout.key.as_str();
        let filter = doc! { key: { "$gte": prefix, "$lt": format!("{prefix}~") } };
        let rows = self.find_rows(filter, doc! { key: 1 }, Some(i64::from(limit.get()))).await?;
        Ok(rows.into_iter().filter(|row| row.token.starts_with(prefix)).collect())
    }
}

impl<Id: MongoUserId> MongoStore<Id> {
    /// Deletes at most `limit` rows created strictly before `cutoff` that carry no expiry of
    /// their own, oldest first (the part of a purge by the strategy's lifetime).
    pub async fn delete_created_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> Result<u64> {
        self.delete_batch(self.created_before(cutoff), limit).await
    }

    /// How many rows [`delete_created_before`](Self::delete_created_before) would delete.
    pub async fn count_created_before(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let count = self.collection.count_documents(self.created_before(cutoff));
        self.bounded(count.into_future()).await
    }
}

impl<Id: MongoUserId> PurgeExpired for MongoStore<Id> {
    async fn delete_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: NonZeroU32,
    ) -> Result<u64> {
        self.delete_batch(self.expired(now, cutoff), limit).await
    }

    async fn count_expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Result<u64> {
        let count = self.collection.count_documents(self.expired(now, cutoff));
        self.bounded(count.into_future()).await
    }
}
