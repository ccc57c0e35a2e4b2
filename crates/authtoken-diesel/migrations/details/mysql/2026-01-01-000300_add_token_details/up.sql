-- The API-token columns of authtoken (optional): a token's own expiry, its name, its scopes and
-- its last use, all nullable (rows written before keep the strategy's lifetime), and the index
-- purge finds rows past their own expiry by. Times are UTC in DATETIME(6), as created_at. Declare
-- the table with access_token_table!(access_token, user_id = ..., details) once this has run.
ALTER TABLE access_token
    ADD COLUMN expires_at DATETIME(6) NULL,
    ADD COLUMN name VARCHAR(255) NULL,
    ADD COLUMN scopes TEXT NULL, -- space-separated, as OAuth writes a scope string
    ADD COLUMN last_used_at DATETIME(6) NULL;
CREATE INDEX idx_access_token_expires_at ON access_token (expires_at);
