//! User ids as BSON values: the type the application's users have.

use std::fmt::Display;
use std::str::FromStr;

use authtoken::UserId;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson};

/// A user id type the MongoDB store keeps in its BSON form: [`ObjectId`] (Beanie's users),
/// [`uuid::Uuid`] (binary subtype 4, MongoDB's standard UUID form), `i64`, `i32` or `String`.
///
/// ```
/// use authtoken_mongodb::MongoUserId;
/// use mongodb::bson::Bson;
///
/// assert_eq!(42i64.to_bson(), Bson::Int64(42));
/// assert_eq!(i64::from_bson(&Bson::Int64(42)), Some(42));
/// assert_eq!(i64::from_bson(&Bson::String("42".into())), None);
/// ```
pub trait MongoUserId: UserId + Display + FromStr {
    /// The id as stored in the `user_id` field.
    fn to_bson(&self) -> Bson;
    /// The id as stored under `uuids` (only UUIDs have a choice; see [`UuidRepresentation`]).
    fn to_bson_as(&self, uuids: UuidRepresentation) -> Bson {
        let _ = uuids;
        self.to_bson()
    }
    /// The id a stored value holds, or `None` for a value of another type.
    fn from_bson(value: &Bson) -> Option<Self>;
    /// Every stored form [`from_bson`](Self::from_bson) reads as this id: what a query by user
    /// must match, so that no document a read accepts escapes a logout.
    fn stored_forms(&self) -> Vec<Bson> {
        vec![self.to_bson()]
    }
}

impl MongoUserId for ObjectId {
    fn to_bson(&self) -> Bson {
        Bson::ObjectId(*self)
    }

    fn from_bson(value: &Bson) -> Option<Self> {
        match value {
            Bson::ObjectId(id) => Some(*id),
            _ => None,
        }
    }
}

impl MongoUserId for uuid::Uuid {
    fn to_bson(&self) -> Bson {
        Bson::Binary(Binary { subtype: BinarySubtype::Uuid, bytes: self.as_bytes().to_vec() })
    }

    fn to_bson_as(&self, uuids: UuidRepresentation) -> Bson {
        match uuids {
            UuidRepresentation::Binary => self.to_bson(),
            UuidRepresentation::String => Bson::String(self.hyphenated().to_string()),
        }
    }

    fn stored_forms(&self) -> Vec<Bson> {
        vec![self.to_bson(), self.to_bson_as(UuidRepresentation::String)]
    }

    /// Either representation reads back.
    fn from_bson(value: &Bson) -> Option<Self> {
        match value {
            Bson::Binary(Binary { subtype: BinarySubtype::Uuid, bytes }) => {
                uuid::Uuid::from_slice(bytes).ok()
            }
            Bson::String(text) => text.parse().ok(),
            _ => None,
        }
    }
}

/// How a store keeps UUID user ids
/// ([`MongoStore::with_uuid_representation`](crate::MongoStore::with_uuid_representation)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UuidRepresentation {
    /// BSON binary subtype 4: MongoDB's standard form, what drivers write for a UUID.
    #[default]
    Binary,
    /// The hyphenated text form, for data written that way (and for servers that lose binary
    /// subtypes, such as NX-27017).
    String,
}

impl MongoUserId for i64 {
    fn to_bson(&self) -> Bson {
        Bson::Int64(*self)
    }

    fn from_bson(value: &Bson) -> Option<Self> {
        match value {
            Bson::Int64(id) => Some(*id),
            // A small integer written by a driver that chose the narrower type.
            Bson::Int32(id) => Some(i64::from(*id)),
            _ => None,
        }
    }
}

impl MongoUserId for i32 {
    fn to_bson(&self) -> Bson {
        Bson::Int32(*self)
    }

    fn from_bson(value: &Bson) -> Option<Self> {
        match value {
            Bson::Int32(id) => Some(*id),
            Bson::Int64(id) => i32::try_from(*id).ok(),
            _ => None,
        }
    }
}

impl MongoUserId for String {
    fn to_bson(&self) -> Bson {
        Bson::String(self.clone())
    }

    fn from_bson(value: &Bson) -> Option<Self> {
        match value {
            Bson::String(id) => Some(id.clone()),
            _ => None,
        }
    }
}
