-- What a client token makes goes with it (src/auth/client_tokens.rs). A
-- client token created, or a device approved, by a request that a client
-- token authenticated records that token (minted_by); so does a download
-- link (client_token_id). Deleting the token (revoking its device, signing
-- out everywhere) ends what it made, by these cascades, and giving it a new
-- secret deletes the same rows (src/store/client_tokens.rs): a stolen
-- device token cannot leave siblings or links behind it.
ALTER TABLE client_tokens ADD COLUMN minted_by INTEGER REFERENCES client_tokens (id) ON DELETE CASCADE;
ALTER TABLE download_links ADD COLUMN client_token_id INTEGER REFERENCES client_tokens (id) ON DELETE CASCADE;
CREATE INDEX client_tokens_minted_by ON client_tokens (minted_by);
CREATE INDEX download_links_client_token ON download_links (client_token_id);
