-- Every delete that housekeeping or a cascade makes finds its rows through
-- an index, so it touches what it deletes and not the whole table
-- (src/store/mod.rs's tests check this for every foreign key and every
-- cleanup statement). Without them, the ten-minute cleanup scanned the
-- token tables whole, under SQLite's write lock, and deleting a user or a
-- client token scanned the device sign-ins and pairing codes, rows that
-- anonymous clients create.

-- Expiry, for the periodic cleanup (src/store/mod.rs, rate_limits.rs).
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX oidc_login_attempts_expires ON oidc_login_attempts (expires_at);
CREATE INDEX oidc_seen_logout_tokens_expires ON oidc_seen_logout_tokens (expires_at);
CREATE INDEX client_tokens_expires ON client_tokens (expires_at);
CREATE INDEX client_tokens_unclaimed ON client_tokens (created_at) WHERE token_hash IS NULL;
CREATE INDEX rate_limits_window ON rate_limits (window_start);

-- The child side of foreign keys that cascade.
CREATE INDEX client_pairing_codes_user ON client_pairing_codes (user_id);
CREATE INDEX client_pairing_codes_token ON client_pairing_codes (token_id);
CREATE INDEX device_flows_token ON device_flows (token_id);
CREATE INDEX device_flows_device ON device_flows (device_id);
CREATE INDEX device_flows_user ON device_flows (user_id);
CREATE INDEX chunked_uploads_user ON chunked_uploads (user_id);
CREATE INDEX chunked_uploads_platform ON chunked_uploads (platform_id);
