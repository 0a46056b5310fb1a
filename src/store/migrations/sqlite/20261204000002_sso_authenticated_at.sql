-- When the identity provider last authenticated the person behind a single
-- sign-on session: the ID token's auth_time, as the provider reports it.
-- A password-less person changing their own account proves a fresh
-- sign-in with it (src/auth/reauth.rs): the session's own created_at could
-- come from a provider that signed a forgotten browser in again silently.
ALTER TABLE sessions ADD COLUMN authenticated_at INTEGER;
