-- The token table of authtoken, next to the users table it references (users.id).
-- user_id's type must be the users key's: UUID here; for another, change it on the line marked
-- below (BIGINT for i64, INTEGER for i32, VARCHAR(255) for String), and use the same type in
-- access_token_table!(access_token, user_id = ...).
CREATE TABLE access_token (
    token VARCHAR(43) NOT NULL PRIMARY KEY,
    user_id UUID NOT NULL, -- the user id's type
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT fk_access_token_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX idx_access_token_user_id ON access_token (user_id);
CREATE INDEX idx_access_token_created_at ON access_token (created_at);
