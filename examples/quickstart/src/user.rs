//! The demo `user` table that `authtoken-migration`'s demo `Migrator` creates.

use sea_orm::entity::prelude::*;

/// A user of the demo schema.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    /// The key the tokens point at.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The login name.
    #[sea_orm(unique)]
    pub email: String,
    /// Whether the user may log in; the application decides what an inactive user may do.
    pub is_active: bool,
}

/// Relations are not needed for the token round trip.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl authtoken::User for Model {
    type Id = Uuid;

    fn id(&self) -> &Uuid {
        &self.id
    }
}
