-- Runs once, when the data volume is created (as the POSTGRES_USER superuser).

-- gen_random_uuid() is built in since PostgreSQL 13; pgcrypto adds digest(),
-- crypt() and friends.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Case-insensitive text, handy for e-mail addresses and user names.
CREATE EXTENSION IF NOT EXISTS citext;
