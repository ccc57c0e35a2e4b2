//! The app's user entity, as it was before tokens came along.

use sea_orm::entity::prelude::*;

/// A user, keyed by a 64-bit integer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// The app's key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The login name.
    #[sea_orm(unique)]
    pub username: String,
}

/// The app's own relations (none here; the token macro adds `Related` to the tokens).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl authtoken::User for Model {
    type Id = i64;

    fn id(&self) -> &i64 {
        &self.id
    }
}
