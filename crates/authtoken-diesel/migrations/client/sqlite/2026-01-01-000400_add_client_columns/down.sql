ALTER TABLE access_token DROP COLUMN address;
ALTER TABLE access_token DROP COLUMN user_agent;
