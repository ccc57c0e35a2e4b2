DROP INDEX idx_access_token_expires_at ON access_token;
ALTER TABLE access_token
    DROP COLUMN expires_at,
    DROP COLUMN name,
    DROP COLUMN scopes,
    DROP COLUMN last_used_at;
