-- Refresh tokens (authtoken::refresh): one row per login (a family), one per refresh token,
-- keyed by its SHA-256 (never the token). user_id holds a UUID as its 16 bytes; change both
-- lines marked below as for the token table. Type names and time forms are SeaORM's.
CREATE TABLE refresh_family (
    id varchar(22) NOT NULL PRIMARY KEY,
    user_id uuid_text NOT NULL, -- the user id's type
    started_at timestamp_with_timezone_text NOT NULL,
    ended_at timestamp_with_timezone_text NULL,
    CONSTRAINT fk_refresh_family_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE TABLE refresh_token (
    "key" varchar(43) NOT NULL PRIMARY KEY,
    family varchar(22) NOT NULL,
    user_id uuid_text NOT NULL, -- the user id's type
    issued_at timestamp_with_timezone_text NOT NULL,
    access_key varchar(43) NOT NULL,
    spent_at timestamp_with_timezone_text NULL,
    CONSTRAINT fk_refresh_token_family FOREIGN KEY (family)
        REFERENCES refresh_family (id) ON DELETE CASCADE
);
CREATE INDEX idx_refresh_token_family ON refresh_token (family);
CREATE INDEX idx_refresh_token_access_key ON refresh_token (access_key);
CREATE INDEX idx_refresh_family_user_id ON refresh_family (user_id);
