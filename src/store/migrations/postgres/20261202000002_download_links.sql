-- Download links (issue 15): a short-lived link to one ROM's file for
-- clients that cannot send an Authorization header. Only an HMAC of the
-- link's secret is stored (see src/auth/tokens.rs). A link dies with its
-- owner (cascade), with its ROM (cascade), at expiry, and wherever the
-- owner's sessions are ended (src/store/credentials.rs deletes them in the
-- same transaction).
CREATE TABLE download_links (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rom_id BIGINT NOT NULL REFERENCES roms (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX download_links_user ON download_links (user_id);
CREATE INDEX download_links_rom ON download_links (rom_id);
CREATE INDEX download_links_expiry ON download_links (expires_at);
