-- RomM's chunked uploads (`/api/roms/upload/...`), PostgreSQL dialect (the
-- SQLite twin has the same version). The chunks themselves are files in
-- the library folder (roms/.romgate-uploads/<id>/<index>); this row says
-- whose upload it is, what it will become, and when it was last touched, so
-- every instance sharing the database and the library folder sees it.
-- completing_since is set by the one instance assembling the file.
CREATE TABLE chunked_uploads (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform_id BIGINT NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    total_size BIGINT NOT NULL,
    total_chunks BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    touched_at BIGINT NOT NULL,
    completing_since BIGINT
);
CREATE INDEX chunked_uploads_touched ON chunked_uploads (touched_at);
