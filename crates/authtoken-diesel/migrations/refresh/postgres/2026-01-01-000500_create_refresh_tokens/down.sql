DROP TABLE refresh_token;
DROP TABLE refresh_family;
