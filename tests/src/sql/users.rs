//! Test user tables: a SeaORM `app_user` entity per id type, with a token entity related to it.

use std::fmt::Debug;
use std::future::Future;

use authtoken::User;
use authtoken_migration::UserIdType;
use authtoken_sea_orm::AccessTokenEntity;
use authtoken_sea_orm::access_token::AccessTokenId;
use sea_orm::{
    DatabaseConnection, EntityTrait, FromQueryResult, ModelTrait, PrimaryKeyTrait, Related,
};

/// The name of the test user table.
pub const USER_TABLE: &str = "app_user";

/// A user table of one id type, as an application would have it.
pub trait UserSchema: Send + Sync + 'static {
    /// The key type.
    type Id: AccessTokenId + Into<sea_orm::Value>;
    /// The user entity.
    type UserEntity: EntityTrait<Model = Self::User, PrimaryKey: PrimaryKeyTrait<ValueType = Self::Id>>
        + Related<Self::TokenEntity>;
    /// The user model.
    type User: User<Id = Self::Id>
        + ModelTrait<Entity = Self::UserEntity>
        + FromQueryResult
        + Clone
        + Debug
        + Send
        + Sync
        + 'static;
    /// A token entity made by the macro with a relation to the user entity.
    type TokenEntity: AccessTokenEntity<UserId = Self::Id> + Related<Self::UserEntity>;
    /// The id type, as the migration names it.
    const ID_TYPE: UserIdType;

    /// Inserts a user with a new id.
    fn create(db: &DatabaseConnection, active: bool) -> impl Future<Output = Self::User> + Send;
    /// Deletes a user.
    fn delete(db: &DatabaseConnection, user: &Self::User) -> impl Future<Output = ()> + Send;
    /// Whether the user is active.
    fn is_active(user: &Self::User) -> bool;
}

macro_rules! test_users {
    ($module:ident, $schema:ident, $id:ty, $id_type:expr, $new_id:expr) => {
        /// A user table and related token entity for this id type.
        pub mod $module {
            use super::*;

            /// The application's user entity.
            pub mod user {
                use sea_orm::entity::prelude::*;

                /// A user.
                #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
                #[sea_orm(table_name = "app_user")]
                pub struct Model {
                    /// The key.
                    #[sea_orm(primary_key, auto_increment = false)]
                    pub id: $id,
                    /// A unique email.
                    #[sea_orm(unique)]
                    pub email: String,
                    /// Whether the user may log in.
                    pub is_active: bool,
                }

                /// No relations of its own.
                #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
                pub enum Relation {}

                impl ActiveModelBehavior for ActiveModel {}

                impl authtoken::User for Model {
                    type Id = $id;

                    fn id(&self) -> &$id {
                        &self.id
                    }
                }
            }

            /// The token table, related to `user`.
            pub mod access_token {
                authtoken_sea_orm::access_token_entity! {
                    table_name = "access_token",
                    user_id = $id,
                    user = super::user,
                }
            }

            /// This id type's schema.
            pub struct $schema;

            impl UserSchema for $schema {
                type Id = $id;
                type UserEntity = user::Entity;
                type User = user::Model;
                type TokenEntity = access_token::Entity;
                const ID_TYPE: UserIdType = $id_type;

                async fn create(db: &DatabaseConnection, active: bool) -> user::Model {
                    use sea_orm::ActiveModelTrait;
                    use sea_orm::ActiveValue::Set;
                    let id: $id = $new_id;
                    let row = user::ActiveModel {
                        id: Set(id.clone()),
                        email: Set(format!("{id}@example.com")),
                        is_active: Set(active),
                    };
                    row.insert(db).await.expect("inserting a user")
                }

                async fn delete(db: &DatabaseConnection, user: &user::Model) {
                    user::Entity::delete_by_id(user.id.clone())
                        .exec(db)
                        .await
                        .expect("deleting a user");
                }

                fn is_active(user: &user::Model) -> bool {
                    user.is_active
                }
            }
        }
    };
}

fn next_i64() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

test_users!(uuid_users, UuidUsers, uuid::Uuid, UserIdType::Uuid, uuid::Uuid::new_v4());
test_users!(i64_users, I64Users, i64, UserIdType::Int64, next_i64());
