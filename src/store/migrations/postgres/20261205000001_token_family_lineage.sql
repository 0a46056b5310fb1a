-- What an app's sign-in makes goes with it, as what a client token makes
-- does (the credential lineage migration). A client token created, or a
-- device approved, by a request that an access token of /api/token
-- authenticated records that token's family (minted_by_family): revoking
-- the family (a replayed refresh token, the app's logout) or all of its
-- owner's sign-ins (a password change, a disable) deletes it, and what it
-- made in turn by the existing cascades. A stolen access token cannot leave
-- a long-lived client token behind it. Families are not rows, so this is
-- a plain column with an index, not a foreign key.
ALTER TABLE client_tokens ADD COLUMN minted_by_family TEXT;
CREATE INDEX client_tokens_minted_by_family ON client_tokens (minted_by_family);
