//! What the store knows of a token table: its name, its `user_id` type, whether it has the
//! API-token columns, and its columns as Diesel's query builder names them (for the joined read).

use authtoken::store::AccessToken;
use diesel::Column;
use diesel::sql_types::Text;

use crate::sql_types::UserIdSql;

/// A token table declared with [`access_token_table!`](crate::access_token_table), which
/// implements this trait for the table's type (`access_token::table`).
pub trait AccessTokenTable: diesel::Table + Default + Copy + Send + Sync + 'static {
    /// The table's name, as the SQL statements name it.
    const NAME: &'static str;
    /// Whether the table has the API-token columns (`expires_at`, `name`, `scopes`,
    /// `last_used_at`).
    const DETAILS: bool;
    /// The SQL type of `user_id`; its Rust id is `<Self::UserIdSql as UserIdSql>::Id`.
    type UserIdSql: UserIdSql;
    /// The `token` column.
    type Token: Column<Table = Self, SqlType = Text> + Default + Send + 'static;
    /// Every column, in the order [`Loaded`](Self::Loaded) holds them.
    type Columns: Default + Send + 'static;
    /// A row as the joined read loads it.
    type Loaded: Send + 'static;

    /// A loaded row as the core's row.
    fn into_access_token(row: Self::Loaded) -> AccessToken<<Self::UserIdSql as UserIdSql>::Id>;
}

/// The user id type of token table `T`.
pub type IdOf<T> = <<T as AccessTokenTable>::UserIdSql as UserIdSql>::Id;
