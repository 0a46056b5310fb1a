-- Addresses a username recently signed in from with its password: the
-- username-wide failed-login limit does not apply to them (see
-- src/auth/login_limits.rs). user_key is the SHA-256 of the folded username.
CREATE TABLE login_known_addresses (
    user_key TEXT NOT NULL,
    address TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (user_key, address)
);
CREATE INDEX login_known_addresses_expiry ON login_known_addresses (expires_at);
