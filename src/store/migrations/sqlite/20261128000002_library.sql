-- The ROM library, SQLite dialect (the PostgreSQL twin has the same version).
-- A platform is a folder under <library>/roms; a ROM is one file or one
-- folder (a multi-file game) inside it. Sizes are bytes, mtime_ns is the
-- file's modification time in unix nanoseconds (a rescan rehashes a file only
-- when its size or mtime changed), sha256 is NULL for folders.
-- Names compare byte by byte (SQLite's default; COLLATE "C" on
-- PostgreSQL), so both engines list in the same order.

CREATE TABLE platforms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE roms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id INTEGER NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    -- lower-cased in Rust, so the search is the same on both engines
    search_key TEXT NOT NULL,
    multi BOOLEAN NOT NULL DEFAULT FALSE,
    size INTEGER NOT NULL,
    sha256 TEXT,
    mtime_ns INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (platform_id, file_name)
);
CREATE INDEX roms_search ON roms (platform_id, search_key);
