-- RomM's chunked uploads (`/api/roms/upload/...`), SQLite dialect (the
-- PostgreSQL twin has the same version). The chunks themselves are files in
-- the library folder (roms/.romgate-uploads/<id>/<index>); this row says
-- whose upload it is, what it will become, and when it was last touched, so
-- every instance sharing the database and the library folder sees it.
-- completing_since is set by the one instance assembling the file.
CREATE TABLE chunked_uploads (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform_id INTEGER NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    total_size INTEGER NOT NULL,
    total_chunks INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    touched_at INTEGER NOT NULL,
    completing_since INTEGER
);
CREATE INDEX chunked_uploads_touched ON chunked_uploads (touched_at);
