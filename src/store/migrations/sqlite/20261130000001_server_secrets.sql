-- Secrets the server generates for itself and every instance must share
-- (today one: the secret key, when ROMM_AUTH_SECRET_KEY is unset and the
-- database is PostgreSQL). The first instance to start inserts the key
-- (INSERT ... ON CONFLICT DO NOTHING), every other one reads it.

CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
