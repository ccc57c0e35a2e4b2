ALTER TABLE access_token DROP COLUMN user_agent, DROP COLUMN address;
