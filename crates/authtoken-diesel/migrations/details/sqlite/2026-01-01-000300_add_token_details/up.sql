-- The API-token columns of authtoken (optional): a token's own expiry, its name, its scopes and
-- its last use, all nullable (rows written before keep the strategy's lifetime), and the index
-- purge finds rows past their own expiry by. SQLite adds one column per statement; the type
-- names are SeaORM's, as in the table's own migration. Declare the table with
-- access_token_table!(access_token, user_id = ..., details) once this has run.
ALTER TABLE access_token ADD COLUMN expires_at timestamp_with_timezone_text NULL;
ALTER TABLE access_token ADD COLUMN name varchar(255) NULL;
ALTER TABLE access_token ADD COLUMN scopes text NULL; -- space-separated, as OAuth writes a scope string
ALTER TABLE access_token ADD COLUMN last_used_at timestamp_with_timezone_text NULL;
CREATE INDEX idx_access_token_expires_at ON access_token (expires_at);
