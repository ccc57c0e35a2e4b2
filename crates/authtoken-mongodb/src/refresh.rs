//! [`MongoRefreshStore`]: refresh tokens in MongoDB, one document per family, so that a
//! rotation is one single-document update (atomic without a transaction).

use std::future::IntoFuture;

use authtoken::refresh::{RefreshRow, RefreshStore};
use authtoken::{Error, Result};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::{Collection, IndexModel};

use crate::documents::date;
use crate::{MongoStore, MongoUserId};

/// The collection of refresh-token families, beside the access tokens'.
pub const REFRESH_COLLECTION: &str = "refresh_family";

/// The collection that finds a family by a token's key or an access token's key.
pub const REFRESH_INDEX_COLLECTION: &str = "refresh_index";

/// Refresh tokens in the collections [`REFRESH_COLLECTION`] and [`REFRESH_INDEX_COLLECTION`] of
/// a [`MongoStore`]'s database, on its client and under its timeout.
///
/// One document per family (login): `{_id: family, user_id, started_at, tokens: {<key>:
/// {issued_ms, access_key, spent_ms}}}` (token times in Unix milliseconds). A rotation is one
/// `updateOne` whose filter holds only while the presented token is unspent, and which marks it
/// spent and adds its successor in the same document; ending a family deletes the document
/// (`findOneAndDelete`), so a rotation racing with it finds nothing to update. Lookups go
/// through `refresh_index` by `_id` (`t:<key>` → the family, `a:<access key>` → the family and
/// the token), written before the family document changes: an entry whose token the family does
/// not hold (a lost rotation, an ended family) finds nothing. Keys are SHA-256 hashes in
/// base64url, never the tokens.
///
/// ```no_run
/// use authtoken::refresh::{RefreshPolicy, RefreshStrategy};
/// use authtoken_mongodb::{MongoRefreshStore, MongoStore};
/// use mongodb::bson::oid::ObjectId;
///
/// # async fn run() -> authtoken::Result<()> {
/// let store = MongoStore::<ObjectId>::connect("mongodb://127.0.0.1:27017/app").await?;
/// let refresh = MongoRefreshStore::new(&store);
/// refresh.ensure_indexes().await?;
/// let access = authtoken::DatabaseStrategy::new(store, Some(std::time::Duration::from_secs(900)))?;
/// let tokens = RefreshStrategy::new(access, refresh, RefreshPolicy::default())?;
/// # Ok(()) }
/// ```
pub struct MongoRefreshStore<Id> {
    store: MongoStore<Id>,
    families: Collection<Document>,
    index: Collection<Document>,
}

impl<Id> MongoRefreshStore<Id> {
    /// Refresh tokens in `store`'s database.
    pub fn new(store: &MongoStore<Id>) -> Self {
        let families = store.database.collection(REFRESH_COLLECTION);
        let index = store.database.collection(REFRESH_INDEX_COLLECTION);
        Self { store: store.clone(), families, index }
    }

    /// Creates the index the store's queries use beside the `_id`s, if it is missing: the
    /// families' user. Idempotent.
    pub async fn ensure_indexes(&self) -> Result<()> {
        let model = IndexModel::builder().keys(doc! { "user_id": 1 }).build();
        self.store.bounded(self.families.create_index(model).into_future()).await?;
        Ok(())
    }

    /// Writes the index entries of `row`'s token and access token.
    async fn index(&self, row: &RefreshRow<Id>) -> Result<()> {
        let entries = [
            doc! { "_id": format!("t:{}", row.key), "family": &row.family },
            doc! { "_id": format!("a:{}", row.access_key), "family": &row.family, "key": &row.key },
        ];
        for entry in entries {
            let filter = doc! { "_id": entry.get_str("_id").unwrap_or_default() };
            let upsert = self.index.replace_one(filter, entry).upsert(true);
            self.store.bounded(upsert.into_future()).await?;
        }
        Ok(())
    }

    /// The `field` of the index entry `id`, if there is one.
    async fn lookup(&self, id: &str, field: &str) -> Result<Option<String>> {
        let found =
            self.store.bounded(self.index.find_one(doc! { "_id": id }).into_future()).await?;
        Ok(found.and_then(|entry| entry.get_str(field).ok().map(str::to_owned)))
    }
}

impl<Id> Clone for MongoRefreshStore<Id> {
    fn clone(&self) -> Self {
        Self::new(&self.store)
    }
}

impl<Id> std::fmt::Debug for MongoRefreshStore<Id> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoRefreshStore").field("store", &self.store).finish()
    }
}

fn corrupt(what: &str) -> Error {
    Error::store(std::io::Error::other(format!("a refresh family's {what} is malformed")))
}

fn time(document: &Document, field: &str) -> Result<DateTime<Utc>> {
    let at = document.get_datetime(field).map_err(|_| corrupt(field))?;
    DateTime::from_timestamp_millis(at.timestamp_millis()).ok_or_else(|| corrupt(field))
}

fn millis(document: &Document, field: &str) -> Result<DateTime<Utc>> {
    let ms = document.get_i64(field).map_err(|_| corrupt(field))?;
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(field))
}

/// A token's sub-document. Its times are milliseconds rather than BSON dates: a date written
/// at a dotted path (`$set: {"tokens.<key>.spent_ms": …}`) is the one form every server keeps.
fn token_document<U>(row: &RefreshRow<U>) -> Document {
    let spent = row.spent_at.map_or(Bson::Null, |at| Bson::Int64(at.timestamp_millis()));
    doc! {
        "issued_ms": row.issued_at.timestamp_millis(),
        "access_key": &row.access_key,
        "spent_ms": spent,
    }
}

/// Every token of a family's document; the one of `only` alone when given.
fn decode<Id: MongoUserId>(family: &Document, only: Option<&str>) -> Result<Vec<RefreshRow<Id>>> {
    let id = family.get_str("_id").map_err(|_| corrupt("id"))?;
    let user = family.get("user_id").and_then(Id::from_bson).ok_or_else(|| corrupt("user id"))?;
    let started = time(family, "started_at")?;
    let tokens = family.get_document("tokens").map_err(|_| corrupt("tokens"))?;
    let mut rows = Vec::new();
    for (key, token) in tokens {
        if only.is_some_and(|only| only != key) {
            continue;
        }
        let token = token.as_document().ok_or_else(|| corrupt("token"))?;
        let spent_at = match token.get("spent_ms") {
            None | Some(Bson::Null) => None,
            Some(_) => Some(millis(token, "spent_ms")?),
        };
        rows.push(RefreshRow {
            key: key.clone(),
            family: id.to_owned(),
            user_id: user.clone(),
            family_started_at: started,
            issued_at: millis(token, "issued_ms")?,
            access_key: token.get_str("access_key").map_err(|_| corrupt("access key"))?.to_owned(),
            spent_at,
        });
    }
    Ok(rows)
}

/// A key as a field name: base64url has neither `.` nor `$`, which MongoDB reads as paths and
/// operators; anything else is refused rather than written.
fn field_name(key: &str) -> Result<&str> {
    let safe =
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if safe { Ok(key) } else { Err(corrupt("key")) }
}

impl<Id: MongoUserId> RefreshStore for MongoRefreshStore<Id> {
    type UserId = Id;

    async fn get(&self, key: &str) -> Result<Option<RefreshRow<Id>>> {
        let Some(family) = self.lookup(&format!("t:{key}"), "family").await? else {
            return Ok(None);
        };
        let find = self.families.find_one(doc! { "_id": family });
        let Some(family) = self.store.bounded(find.into_future()).await? else {
            return Ok(None);
        };
        Ok(decode(&family, Some(key))?.pop())
    }

    async fn start_family(&self, first: RefreshRow<Id>) -> Result<()> {
        let key = field_name(&first.key)?;
        self.index(&first).await?;
        let family = doc! {
            "_id": &first.family,
            "user_id": first.user_id.to_bson_as(self.store.uuids),
            "started_at": date(first.family_started_at),
            "tokens": { key: token_document(&first) },
        };
        self.store.bounded(self.families.insert_one(family).into_future()).await?;
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &str,
        at: DateTime<Utc>,
        next: RefreshRow<Id>,
    ) -> Result<bool> {
        let (Ok(presented), Ok(successor)) = (field_name(presented), field_name(&next.key)) else {
            return Ok(false);
        };
        self.index(&next).await?;
        let token = format!("tokens.{presented}");
        let filter = doc! {
            "_id": &next.family,
            token.as_str(): { "$exists": true },
            format!("{token}.spent_ms"): Bson::Null,
        };
        let update = doc! {
            "$set": {
                format!("{token}.spent_ms"): at.timestamp_millis(),
                format!("tokens.{successor}"): token_document(&next),
            },
        };
        let updated =
            self.store.bounded(self.families.update_one(filter, update).into_future()).await?;
        if updated.modified_count == 1 {
            return Ok(true);
        }
        // Lost: the successor's entries are its own (a new key, a new access key), gone with it.
        let entries = [format!("t:{successor}"), format!("a:{}", next.access_key)];
        let tidy = self.index.delete_many(doc! { "_id": { "$in": entries.to_vec() } });
        self.store.bounded(tidy.into_future()).await?;
        Ok(false)
    }

    async fn end_family(&self, family: &str) -> Result<Vec<RefreshRow<Id>>> {
        let delete = self.families.find_one_and_delete(doc! { "_id": family });
        let Some(document) = self.store.bounded(delete.into_future()).await? else {
            return Ok(Vec::new());
        };
        let rows = decode(&document, None)?;
        // The family is gone: its entries find nothing. Tidied now rather than left behind.
        let entries: Vec<String> = rows
            .iter()
            .flat_map(|row| [format!("t:{}", row.key), format!("a:{}", row.access_key)])
            .collect();
        let tidy = self.index.delete_many(doc! { "_id": { "$in": entries } });
        self.store.bounded(tidy.into_future()).await?;
        Ok(rows)
    }

    async fn user_rows(&self, user_id: &Id) -> Result<Vec<RefreshRow<Id>>> {
        let filter = doc! { "user_id": { "$in": user_id.stored_forms() } };
        let find = self.families.find(filter);
        let families: Vec<Document> =
            self.store.bounded(async { find.await?.try_collect().await }).await?;
        let mut rows = Vec::new();
        for family in &families {
            rows.extend(decode(family, None)?);
        }
        Ok(rows)
    }

    async fn family_of_access(&self, access_key: &str) -> Result<Option<String>> {
        let entry = self.index.find_one(doc! { "_id": format!("a:{access_key}") });
        let Some(entry) = self.store.bounded(entry.into_future()).await? else {
            return Ok(None);
        };
        let (Ok(family), Ok(key)) = (entry.get_str("family"), entry.get_str("key")) else {
            return Err(corrupt("index entry"));
        };
        let held =
            doc! { "_id": family, format!("tokens.{}", field_name(key)?): { "$exists": true } };
        let found = self.store.bounded(self.families.find_one(held).into_future()).await?;
        Ok(found.map(|_| family.to_owned()))
    }
}
