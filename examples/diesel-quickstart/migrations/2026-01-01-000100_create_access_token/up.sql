-- The token table of authtoken, next to the users table it references (users.id).
-- authtoken-diesel's SQLite migration, its user id line changed from uuid_text to INTEGER for
-- this app's i64 ids (as access_token_table!(access_token, user_id = BigInt) says).
-- The type names are SeaORM's, so that both ORMs' tables are alike. Times are text in one
-- fixed-width UTC form, so that text order is time order. The cascade needs
-- `PRAGMA foreign_keys = ON` on every connection (authtoken_diesel::connect sets it).
CREATE TABLE access_token (
    token varchar(43) NOT NULL PRIMARY KEY,
    user_id INTEGER NOT NULL, -- the user id's type (i64 here)
    created_at timestamp_with_timezone_text NOT NULL,
    CONSTRAINT fk_access_token_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX idx_access_token_user_id ON access_token (user_id);
CREATE INDEX idx_access_token_created_at ON access_token (created_at);
