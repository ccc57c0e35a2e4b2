//! Token rows as BSON documents, both ways.

use authtoken::store::{AccessToken, TokenDetails};
use authtoken::{Error, Result};
use chrono::{DateTime, Utc};
use mongodb::bson::{self, Bson, Document};

use crate::{Layout, MongoUserId};

/// The API-token fields, beside the layout's three. Absent (or `null`) when unset.
pub(crate) const EXPIRES_AT: &str = "expires_at";
pub(crate) const NAME: &str = "name";
pub(crate) const SCOPES: &str = "scopes";
pub(crate) const LAST_USED_AT: &str = "last_used_at";
/// The client's fields (what a sessions page shows), absent when unknown.
pub(crate) const USER_AGENT: &str = "user_agent";
pub(crate) const ADDRESS: &str = "address";
/// When MongoDB's TTL monitor may drop the document (with the TTL index only).
pub(crate) const DROP_AFTER: &str = "drop_after";

/// A time as a BSON date (whole milliseconds: BSON keeps no finer).
pub(crate) fn date(at: DateTime<Utc>) -> Bson {
    Bson::DateTime(bson::DateTime::from_millis(at.timestamp_millis()))
}

/// The document stored for `row`, its owner as `user`; with `drop_after`, the TTL index's field.
pub(crate) fn to_document<Id>(
    layout: &Layout,
    row: &AccessToken<Id>,
    user: Bson,
    drop_after: Option<DateTime<Utc>>,
) -> Document {
    let mut document = Document::new();
    document.insert(layout.key.clone(), row.token.clone());
    document.insert(layout.user.clone(), user);
    document.insert(layout.created_at.clone(), date(row.created_at));
    let details = &row.details;
    if let Some(end) = details.expires_at {
        document.insert(EXPIRES_AT, date(end));
    }
    if let Some(name) = &details.name {
        document.insert(NAME, name.clone());
    }
    if !details.scopes.is_empty() {
        document.insert(SCOPES, details.scopes.clone());
    }
    if let Some(used) = details.last_used_at {
        document.insert(LAST_USED_AT, date(used));
    }
    for (field, value) in [(USER_AGENT, &details.user_agent), (ADDRESS, &details.address)] {
        if let Some(value) = value {
            document.insert(field, value.clone());
        }
    }
    if let Some(at) = drop_after {
        document.insert(DROP_AFTER, date(at));
    }
    document
}

/// The row a stored document holds; a document that does not read (a missing field, a user id
/// of another type) is an [`Error::Schema`] naming the field.
pub(crate) fn from_document<Id: MongoUserId>(
    layout: &Layout,
    document: &Document,
) -> Result<AccessToken<Id>> {
    let wrong = |field: &str, expected: &str| {
        Error::Schema(format!(
            "a token document's `{field}` is not {expected} (collection `{}`)",
            layout.collection
        ))
    };
    let token = match document.get(&layout.key) {
        Some(Bson::String(key)) => key.clone(),
        _ => return Err(wrong(&layout.key, "a string")),
    };
    let user_id = document
        .get(&layout.user)
        .and_then(Id::from_bson)
        .ok_or_else(|| wrong(&layout.user, std::any::type_name::<Id>()))?;
    let created_at = optional_time(document, &layout.created_at)
        .map_err(|_| wrong(&layout.created_at, "a date"))?
        .ok_or_else(|| wrong(&layout.created_at, "a date"))?;
    let text = |field: &str| match document.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(wrong(field, "a string")),
    };
    let mut row = AccessToken::new(token, user_id, created_at);
    row.details = TokenDetails {
        expires_at: optional_time(document, EXPIRES_AT).map_err(|_| wrong(EXPIRES_AT, "a date"))?,
        name: text(NAME)?,
        scopes: match document.get(SCOPES) {
            None | Some(Bson::Null) => Vec::new(),
            Some(Bson::Array(scopes)) => scopes
                .iter()
                .map(|s| s.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| wrong(SCOPES, "an array of strings"))?,
            Some(_) => return Err(wrong(SCOPES, "an array of strings")),
        },
        last_used_at: optional_time(document, LAST_USED_AT)
            .map_err(|_| wrong(LAST_USED_AT, "a date"))?,
        user_agent: text(USER_AGENT)?,
        address: text(ADDRESS)?,
    };
    Ok(row)
}

/// A date field: `Ok(None)` when absent or `null`, `Err(())` when of another type.
fn optional_time(document: &Document, field: &str) -> Result<Option<DateTime<Utc>>, ()> {
    match document.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::DateTime(at)) => {
            DateTime::<Utc>::from_timestamp_millis(at.timestamp_millis()).map(Some).ok_or(())
        }
        Some(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;
    use mongodb::bson::oid::ObjectId;

    use super::*;

    #[test]
    fn rows_round_trip_in_both_layouts_to_the_millisecond() {
        let at = DateTime::<Utc>::from_timestamp_millis(1_767_268_800_123).unwrap();
        let mut row = AccessToken::new("key".to_owned(), ObjectId::new(), at);
        row.details.name = Some("CI".into());
        row.details.scopes = vec!["read".into(), "deploy:prod".into()];
        row.details.expires_at = Some(at + chrono::TimeDelta::days(90));
        for layout in [Layout::native(), Layout::beanie()] {
            let document = to_document(&layout, &row, row.user_id.to_bson(), None);
            assert_eq!(from_document::<ObjectId>(&layout, &document).unwrap(), row);
        }
        let document = to_document(&Layout::native(), &row, row.user_id.to_bson(), None);
        assert_eq!(document.get_str("_id").unwrap(), "key");
        assert!(!document.contains_key(DROP_AFTER));
    }

    #[test]
    fn documents_of_another_shape_are_schema_errors() {
        let layout = Layout::native();
        let now = bson::DateTime::now();
        for bad in [
            doc! { "user_id": 1i64, "created_at": now },
            doc! { "_id": "k", "user_id": "1", "created_at": now },
            doc! { "_id": "k", "user_id": 1i64, "created_at": "yesterday" },
            doc! { "_id": "k", "user_id": 1i64, "created_at": now, "scopes": "read" },
        ] {
            let read = from_document::<i64>(&layout, &bad);
            assert!(matches!(read, Err(Error::Schema(_))), "{bad}: {read:?}");
        }
    }
}
