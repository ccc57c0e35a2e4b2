DROP INDEX idx_access_token_expires_at;
ALTER TABLE access_token DROP COLUMN expires_at;
ALTER TABLE access_token DROP COLUMN name;
ALTER TABLE access_token DROP COLUMN scopes;
ALTER TABLE access_token DROP COLUMN last_used_at;
