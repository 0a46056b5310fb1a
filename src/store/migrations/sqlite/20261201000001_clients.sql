-- RomM's apps (SPEC 8): devices, client tokens, pairing codes and device
-- sign-in flows. Where RomM keeps short-lived state in Redis, romgate keeps
-- it here, so every instance on one PostgreSQL sees it. Every secret is
-- stored as an HMAC under the server's key (see src/auth/tokens.rs): client
-- tokens, pairing codes, device codes and user codes alike.

-- A device (a handheld, a TV app, a plugin) a person approved. RomM names
-- devices by UUID; deleting one deletes every token bound to it.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    client TEXT,
    platform TEXT,
    client_version TEXT,
    -- what the device calls itself; one device row per identifier and user
    client_device_identifier TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_seen_at INTEGER,
    UNIQUE (user_id, client_device_identifier)
);

-- A long-lived API token (`rmm_` + 64 hex). token_hash is NULL only while
-- an approved device flow waits for the one poll that receives the token.
-- The scopes are the ones granted; each request gets their intersection
-- with the owner's role as it is then.
CREATE TABLE client_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id TEXT REFERENCES devices (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER
);
CREATE INDEX client_tokens_user ON client_tokens (user_id);
CREATE INDEX client_tokens_device ON client_tokens (device_id);

-- A pairing code (8 characters, 60 seconds, single use) that exchanges for
-- a fresh secret of one client token.
CREATE TABLE client_pairing_codes (
    code_hash TEXT PRIMARY KEY,
    token_id INTEGER NOT NULL REFERENCES client_tokens (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX client_pairing_codes_expiry ON client_pairing_codes (expires_at);

-- A device sign-in (RomM's /api/auth/device/* and RFC 8628). The device
-- holds device_code and polls; the person types or scans user_code.
-- status: pending -> approved | denied; approved -> issued by the one poll
-- that receives the token (token_id's secret is generated at that poll, so
-- no plain token is ever stored).
CREATE TABLE device_flows (
    device_code_hash TEXT PRIMARY KEY,
    user_code_hash TEXT NOT NULL UNIQUE,
    -- RFC 8628 clients name a client_id; RomM's flow names the client app
    oauth_client_id TEXT,
    client_device_identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    client TEXT NOT NULL,
    platform TEXT,
    client_version TEXT,
    requested_scopes TEXT NOT NULL,
    poll_interval INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    device_id TEXT REFERENCES devices (id) ON DELETE CASCADE,
    token_id INTEGER REFERENCES client_tokens (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_poll_at INTEGER
);
CREATE INDEX device_flows_expiry ON device_flows (expires_at);
