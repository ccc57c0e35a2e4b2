-- The client's columns of authtoken (optional): the user agent and the address a token was issued
-- to, shown on the user's sessions page. Nullable: rows written before, or by fastapi-users, have
-- none. SQLite adds one column per statement. The store finds them with detect_details() or takes
-- them with with_client_columns().
ALTER TABLE access_token ADD COLUMN user_agent varchar(255) NULL;
ALTER TABLE access_token ADD COLUMN address varchar(45) NULL;
