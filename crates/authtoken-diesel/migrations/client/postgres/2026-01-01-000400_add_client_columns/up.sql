-- The client's columns of authtoken (optional): the user agent and the address a token was issued
-- to, shown on the user's sessions page. Nullable: rows written before, or by fastapi-users, have
-- none. The store finds them with detect_details() or takes them with with_client_columns().
ALTER TABLE access_token
    ADD COLUMN user_agent VARCHAR(255) NULL,
    ADD COLUMN address VARCHAR(45) NULL;
