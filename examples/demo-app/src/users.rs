//! The service's users: a SeaORM entity with a password hash and the three flags the extractors ask.

use sea_orm::entity::prelude::*;

/// A user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// The key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The login name.
    #[sea_orm(unique)]
    pub username: String,
    /// An argon2 PHC string; never sent anywhere.
    pub password_hash: String,
    /// May use the service.
    pub is_active: bool,
    /// Has verified their address.
    pub is_verified: bool,
    /// Is an administrator.
    pub is_superuser: bool,
}

/// The service's own relations (the token macro adds the one to tokens).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl authtoken::User for Model {
    type Id = i64;

    fn id(&self) -> &i64 {
        &self.id
    }
}

impl authtoken_http::AuthUser for Model {
    fn is_active(&self) -> bool {
        self.is_active
    }

    fn is_verified(&self) -> bool {
        self.is_verified
    }

    fn is_superuser(&self) -> bool {
        self.is_superuser
    }
}

/// The token table, related to `users` so that a request costs one query.
pub mod token {
    authtoken_sea_orm::access_token_entity! {
        table_name = "access_token",
        user_id = i64,
        user = crate::users,
    }
}
