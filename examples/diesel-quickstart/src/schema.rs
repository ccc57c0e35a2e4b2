//! The app's Diesel schema: its own `users` table, and authtoken's token table beside it.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        is_active -> Bool,
    }
}

// Replaces the `table!` that `diesel print-schema` would write for the token table: the same
// columns, with SQL types that read the same on every database.
authtoken_diesel::access_token_table!(access_token, user_id = BigInt);

diesel::joinable!(access_token -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(access_token, users);
