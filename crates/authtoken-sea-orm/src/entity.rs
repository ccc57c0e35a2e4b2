//! The `access_token` entity, written once as a macro because SeaORM's derive takes no generics.

use authtoken::AccessToken;
use sea_orm::{ActiveModelBehavior, ActiveModelTrait, EntityTrait, FromQueryResult, Value};

/// An entity made by [`access_token_entity!`](crate::access_token_entity): what the store needs
/// to know of it beyond SeaORM's own traits.
///
/// Implemented by the macro; there is no need to implement it by hand.
pub trait AccessTokenEntity:
    EntityTrait<Model = Self::TokenModel, ActiveModel = Self::TokenActiveModel>
{
    /// The type of `user_id`, the same as the user table's key.
    type UserId: authtoken::UserId + Into<Value> + sea_orm::TryGetable;
    /// The entity's `Model`.
    type TokenModel: FromQueryResult + Send + Sync;
    /// The entity's `ActiveModel`.
    type TokenActiveModel: ActiveModelTrait<Entity = Self> + ActiveModelBehavior + Send;

    /// The `token` column (the primary key).
    fn token_column() -> Self::Column;
    /// The `user_id` column.
    fn user_id_column() -> Self::Column;
    /// The `created_at` column.
    fn created_at_column() -> Self::Column;
    /// Whether the entity has the API-token columns (`details = true` in the macro): a store
    /// on it then reads and writes them without
    /// [`with_details`](crate::SeaOrmStore::with_details).
    const DETAILS: bool = false;
    /// A row as the core crate sees it.
    fn into_access_token(model: Self::Model) -> AccessToken<Self::UserId>;
    /// An active model that inserts `row`.
    fn active_model(row: AccessToken<Self::UserId>) -> Self::ActiveModel;
}

/// Expands to an ordinary SeaORM entity for the token table, in the module where it is invoked:
/// `Entity`, `Model`, `ActiveModel`, `Column`, `PrimaryKey` and `Relation`, as
/// `DeriveEntityModel` makes them.
///
/// The columns are `token` (`VARCHAR(43)`, primary key), `user_id` (the given type, indexed) and
/// `created_at` (a UTC timestamp, indexed). Invoke it in a module of its own:
///
/// ```
/// mod user {
///     use sea_orm::entity::prelude::*;
///
///     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
///     #[sea_orm(table_name = "user")]
///     pub struct Model {
///         #[sea_orm(primary_key)]
///         pub id: i64,
///         pub email: String,
///     }
///
///     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
///     pub enum Relation {}
///
///     impl ActiveModelBehavior for ActiveModel {}
/// }
///
/// mod access_token {
///     authtoken_sea_orm::access_token_entity! {
///         table_name = "accesstoken",
///         user_id = i64,
///         // Optional: relate to the app's user entity (a module path), for `find_also_related`
///         // and `read_token(token, &Joined)`; `user_key` defaults to `Id`.
///         user = super::user,
///         user_key = Id,
///     }
/// }
///
/// use sea_orm::EntityTrait;
///
/// # fn main() {
/// let _tokens_with_users = access_token::Entity::find().find_also_related(user::Entity);
/// # }
/// ```
///
/// With `details = true` (after the other options), the entity also has the API-token columns
/// (`expires_at`, `name`, `scopes`, `last_used_at`: what `CreateAccessTokenTable::with_details`
/// and `AddTokenDetails` in `authtoken-migration` create), and a store on it keeps them:
///
/// ```
/// mod api_token {
///     authtoken_sea_orm::access_token_entity! {
///         table_name = "access_token",
///         user_id = i64,
///         details = true,
///     }
/// }
///
/// use authtoken_sea_orm::AccessTokenEntity;
/// assert!(api_token::Entity::DETAILS);
/// let model = api_token::Model {
///     token: "key".into(),
///     user_id: 7,
///     created_at: chrono::Utc::now(),
///     expires_at: None,
///     name: Some("CI deploy".into()),
///     scopes: Some("deploy read".into()),
///     last_used_at: None,
/// };
/// let row = api_token::Entity::into_access_token(model);
/// assert_eq!(row.details.scopes, ["deploy", "read"]);
/// ```
///
/// With `user`, the expansion also writes `Related` both ways between the two entities and a
/// `Relation::User` that cascades on delete, so the invoking crate must own the user entity
/// (it does, when the user entity is its own).
#[macro_export]
macro_rules! access_token_entity {
    (table_name = $table:literal, user_id = $id:ty $(, details = $details:tt)? $(,)?) => {
        $crate::access_token_entity!(@entity $table, $id, [$($details)? false]);

        /// This token table relates to no user entity.
        #[derive(Copy, Clone, Debug, sea_orm::EnumIter)]
        pub enum Relation {}

        impl sea_orm::RelationTrait for Relation {
            fn def(&self) -> sea_orm::RelationDef {
                match *self {}
            }
        }
    };
    (
        table_name = $table:literal,
        user_id = $id:ty,
        user = $($user:ident)::+
        $(, user_key = $key:ident)?
        $(, details = $details:tt)? $(,)?
    ) => {
        $crate::access_token_entity!(@entity $table, $id, [$($details)? false]);
        $crate::access_token_entity!(@relation [$($user)::+] [$($key)? Id]);
    };

    (@relation [$($user:ident)::+] [$key:ident $($default:ident)?]) => {
        /// The token table's relations.
        #[derive(Copy, Clone, Debug, sea_orm::EnumIter)]
        pub enum Relation {
            /// The token's owner. Deleting the user deletes its tokens.
            User,
        }

        impl sea_orm::RelationTrait for Relation {
            fn def(&self) -> sea_orm::RelationDef {
                match self {
                    Self::User => <Entity as sea_orm::EntityTrait>::belongs_to($($user)::+::Entity)
                        .from(Column::UserId)
                        .to($($user)::+::Column::$key)
                        .on_delete(sea_orm::sea_query::ForeignKeyAction::Cascade)
                        .into(),
                }
            }
        }

        impl sea_orm::Related<$($user)::+::Entity> for Entity {
            fn to() -> sea_orm::RelationDef {
                sea_orm::RelationTrait::def(&Relation::User)
            }
        }

        impl sea_orm::Related<Entity> for $($user)::+::Entity {
            fn to() -> sea_orm::RelationDef {
                sea_orm::RelationTrait::def(&Relation::User).rev()
            }
        }
    };

    // The first word of the list is the `details` flag (given, or the default `false`).
    (@entity $table:literal, $id:ty, [true $($default:tt)?]) => {
        $crate::access_token_entity!(@model $table, $id, true, {
            /// When the token stops working, if it has a lifetime of its own.
            pub expires_at: Option<sea_orm::prelude::DateTimeUtc>,
            /// Its owner's name for it.
            #[sea_orm(column_type = "String(sea_orm::sea_query::StringLen::N(255))", nullable)]
            pub name: Option<String>,
            /// Its scopes, separated by spaces.
            #[sea_orm(column_type = "Text", nullable)]
            pub scopes: Option<String>,
            /// When it was last used (written at most once per tracking interval).
            pub last_used_at: Option<sea_orm::prelude::DateTimeUtc>,
        });

        impl Model {
            #[doc(hidden)]
            pub fn __token_details(&self) -> $crate::__private::TokenDetails {
                $crate::__private::TokenDetails {
                    expires_at: self.expires_at,
                    name: self.name.clone(),
                    scopes: $crate::__private::split_scopes(self.scopes.as_deref()),
                    last_used_at: self.last_used_at,
                    // The client's columns are not the entity's: the store reads them by name.
                    ..::core::default::Default::default()
                }
            }
        }

        impl ActiveModel {
            #[doc(hidden)]
            pub fn __set_token_details(&mut self, details: $crate::__private::TokenDetails) {
                use sea_orm::ActiveValue::Set;
                self.expires_at = Set(details.expires_at);
                self.name = Set(details.name);
                self.scopes = Set($crate::__private::join_scopes(&details.scopes));
                self.last_used_at = Set(details.last_used_at);
            }
        }
    };
    (@entity $table:literal, $id:ty, [false $($default:tt)?]) => {
        $crate::access_token_entity!(@model $table, $id, false, {});

        impl Model {
            #[doc(hidden)]
            pub fn __token_details(&self) -> $crate::__private::TokenDetails {
                $crate::__private::TokenDetails::default()
            }
        }

        impl ActiveModel {
            #[doc(hidden)]
            pub fn __set_token_details(&mut self, _details: $crate::__private::TokenDetails) {}
        }
    };
    (@entity $table:literal, $id:ty, [$other:tt $($default:tt)?]) => {
        compile_error!("`details` is `true` or `false`");
    };

    (@model $table:literal, $id:ty, $details:literal, { $($fields:tt)* }) => {
        // The derives below name `sea_orm::...`: resolve it to the version this crate uses.
        #[allow(unused_imports)]
        use $crate::__private::sea_orm;
        // What an entity file generated by sea-orm-cli imports, and the derives expect.
        #[allow(unused_imports)]
        use $crate::__private::sea_orm::entity::prelude::*;

        /// A row of the token table. `Debug` shows a six-character prefix of `token` (a live
        /// credential in plain mode).
        #[derive(Clone, PartialEq, Eq, sea_orm::DeriveEntityModel)]
        #[sea_orm(table_name = $table)]
        pub struct Model {
            /// base64url(SHA-256(token)), or in plain mode the token itself.
            #[sea_orm(
                primary_key,
                auto_increment = false,
                column_type = "String(sea_orm::sea_query::StringLen::N(43))"
            )]
            pub token: String,
            /// The owner.
            #[sea_orm(indexed)]
            pub user_id: $id,
            /// When the token was issued, in UTC.
            #[sea_orm(indexed)]
            pub created_at: sea_orm::prelude::DateTimeUtc,
            $($fields)*
        }

        impl ::std::fmt::Debug for Model {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("Model")
                    .field("token", &format_args!("{}…", self.token.get(..6).unwrap_or("")))
                    .field("user_id", &self.user_id)
                    .field("created_at", &self.created_at)
                    .field("details", &self.__token_details())
                    .finish()
            }
        }

        impl sea_orm::ActiveModelBehavior for ActiveModel {}

        impl $crate::AccessTokenEntity for Entity {
            type UserId = $id;
            type TokenModel = Model;
            type TokenActiveModel = ActiveModel;

            fn token_column() -> Column {
                Column::Token
            }

            fn user_id_column() -> Column {
                Column::UserId
            }

            fn created_at_column() -> Column {
                Column::CreatedAt
            }

            const DETAILS: bool = $details;

            fn into_access_token(model: Model) -> $crate::__private::AccessToken<$id> {
                let details = model.__token_details();
                let mut row =
                    $crate::__private::AccessToken::new(model.token, model.user_id, model.created_at);
                row.details = details;
                row
            }

            fn active_model(row: $crate::__private::AccessToken<$id>) -> ActiveModel {
                use sea_orm::ActiveValue::Set;
                let mut active = <ActiveModel as ::std::default::Default>::default();
                active.token = Set(row.token);
                active.user_id = Set(row.user_id);
                active.created_at = Set(row.created_at);
                active.__set_token_details(row.details);
                active
            }
        }
    };
}
