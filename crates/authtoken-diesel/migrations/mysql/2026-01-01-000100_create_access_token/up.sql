-- The token table of authtoken, next to the users table it references (users.id).
-- user_id's type must be the users key's: BINARY(16) holds a UUID; for another, change it on
-- the line marked below (BIGINT for i64, INT for i32, VARCHAR(255) for String), and use the same
-- type in access_token_table!(access_token, user_id = ...).
-- The token compares byte for byte (ascii_bin: MySQL's default collations ignore case and
-- trailing spaces); times are UTC in DATETIME(6) (TIMESTAMP drops fractions, converts through
-- the session's time zone and ends in 2038).
CREATE TABLE access_token (
    token VARCHAR(43) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    user_id BINARY(16) NOT NULL, -- the user id's type
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT fk_access_token_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX idx_access_token_user_id ON access_token (user_id);
CREATE INDEX idx_access_token_created_at ON access_token (created_at);
