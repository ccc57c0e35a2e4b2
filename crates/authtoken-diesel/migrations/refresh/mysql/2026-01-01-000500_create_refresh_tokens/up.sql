-- Refresh tokens (authtoken::refresh): one row per login (a family), one per refresh token,
-- keyed by its SHA-256 (never the token). user_id's type must be the users key's: BINARY(16)
-- holds a UUID; change both lines marked below as for the token table. Keys compare byte for
-- byte (ascii_bin); times are UTC in DATETIME(6).
CREATE TABLE refresh_family (
    id VARCHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    user_id BINARY(16) NOT NULL, -- the user id's type
    started_at DATETIME(6) NOT NULL,
    ended_at DATETIME(6) NULL,
    CONSTRAINT fk_refresh_family_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE TABLE refresh_token (
    `key` VARCHAR(43) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    family VARCHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_id BINARY(16) NOT NULL, -- the user id's type
    issued_at DATETIME(6) NOT NULL,
    access_key VARCHAR(43) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    spent_at DATETIME(6) NULL,
    CONSTRAINT fk_refresh_token_family FOREIGN KEY (family)
        REFERENCES refresh_family (id) ON DELETE CASCADE
);
CREATE INDEX idx_refresh_token_access_key ON refresh_token (access_key);
CREATE INDEX idx_refresh_family_user_id ON refresh_family (user_id);
