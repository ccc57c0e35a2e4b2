//! Where the store keeps tokens: the collection and its field names.

/// The collection and the field names of token documents.
///
/// [`Layout::native`] keys each document by its stored key (`_id`), so a lookup is the cheapest
/// query MongoDB has; [`Layout::beanie`] is what fastapi-users' Beanie adapter writes
/// (`AccessToken`, with the key in a uniquely indexed `token` field and an ObjectId `_id`), for
/// sharing tokens with a fastapi-users service. Either can be renamed field by field.
///
/// ```
/// use authtoken_mongodb::Layout;
///
/// let beanie = Layout::beanie();
/// assert_eq!((beanie.collection.as_str(), beanie.key.as_str()), ("AccessToken", "token"));
/// let mine = Layout::native().collection("api_tokens").user_field("owner");
/// assert_eq!(mine.user, "owner");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The collection's name.
    pub collection: String,
    /// The field holding the stored key (`_id`, or a field with a unique index).
    pub key: String,
    /// The field holding the owner's id.
    pub user: String,
    /// The field holding the creation time (a BSON date).
    pub created_at: String,
}

impl Layout {
    /// `access_token`, keyed by `_id`, with `user_id` and `created_at`.
    pub fn native() -> Self {
        Self {
            collection: "access_token".into(),
            key: "_id".into(),
            user: "user_id".into(),
            created_at: "created_at".into(),
        }
    }

    /// fastapi-users-db-beanie's `AccessToken` documents: `token` (unique), `user_id` (an
    /// ObjectId, as Beanie's users have), `created_at`; `_id` is MongoDB's own ObjectId.
    pub fn beanie() -> Self {
        Self { collection: "AccessToken".into(), key: "token".into(), ..Self::native() }
    }

    /// The same layout in collection `name`.
    pub fn collection(mut self, name: &str) -> Self {
        self.collection = name.to_owned();
        self
    }

    /// The same layout with the key in field `name`.
    pub fn key_field(mut self, name: &str) -> Self {
        self.key = name.to_owned();
        self
    }

    /// The same layout with the owner in field `name`.
    pub fn user_field(mut self, name: &str) -> Self {
        self.user = name.to_owned();
        self
    }

    /// The same layout with the creation time in field `name`.
    pub fn created_at_field(mut self, name: &str) -> Self {
        self.created_at = name.to_owned();
        self
    }

    /// Whether the key is the document's `_id`.
    pub(crate) fn keyed_by_id(&self) -> bool {
        self.key == "_id"
    }
}

impl Default for Layout {
    fn default() -> Self {
        Self::native()
    }
}
