//! Sessions, bearer access tokens and refresh tokens. Only keyed hashes of
//! tokens are stored; the plain values exist only in the client's hands.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::batched::{Batched, NotBatched};
use super::credential_queries::{
    SELECT_ACCESS_TOKEN, SELECT_ACCESS_TOKENS_BATCHED, SELECT_SESSION, SELECT_SESSIONS_BATCHED,
};
use super::direct::DirectReads;
use super::download_links::DELETE_DOWNLOAD_LINKS_OF;
use super::users::{LOCK_ACCESS_TOKEN_OWNER, LOCK_ENABLED_OWNER, LOCK_FAMILY_OWNER, LOCK_OWNER};
use super::{Store, StoreError, User, on_pool};

/// A user's sign-ins by password or single sign-on (not their apps), and
/// what they made: download links, and client tokens that an access token
/// made (`Minter`). None may outlive the sign-ins (a password change, a
/// disable, "sign out everywhere").
const SIGN_INS: [&str; 5] = [
    "DELETE FROM sessions WHERE user_id = $1",
    "DELETE FROM access_tokens WHERE user_id = $1",
    "DELETE FROM refresh_tokens WHERE user_id = $1",
    DELETE_DOWNLOAD_LINKS_OF,
    "DELETE FROM client_tokens WHERE user_id = $1 AND minted_by_family IS NOT NULL",
];
/// What ends token family `$1`, the owner's lock first. Spent refresh
/// tokens are kept (marked) until expiry so later replays are still
/// recognised; unspent ones can never be used again.
const REVOKE_FAMILY: [&str; 4] = [
    LOCK_FAMILY_OWNER,
    "DELETE FROM access_tokens WHERE family_id = $1",
    "DELETE FROM client_tokens WHERE minted_by_family = $1",
    "UPDATE refresh_tokens SET used_at = COALESCE(used_at, created_at) WHERE family_id = $1",
];
/// A user's devices; their tokens go with them (the schema's cascade).
const DELETE_DEVICES_OF: &str = "DELETE FROM devices WHERE user_id = $1";
const DELETE_CLIENT_TOKENS_OF: &str = "DELETE FROM client_tokens WHERE user_id = $1";

/// What an ended session kept of its single sign-on (all empty for a
/// password session): read only at logout, so that the lookup every request
/// makes carries the user alone.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct EndedSession {
    pub oidc_issuer: Option<String>,
    pub oidc_subject: Option<String>,
    pub oidc_sid: Option<String>,
    pub id_token: Option<String>,
}

/// One kind of credential lookup, for `find_credential`: its single-row
/// query, and its direct and batched forms.
struct CredentialLookup<T> {
    sql: &'static str,
    direct: fn(&DirectReads, &str, i64) -> rusqlite::Result<Option<T>>,
    batched: fn(&BatchedLookups) -> &Batched<T>,
}

/// The per-request lookups on PostgreSQL (see `batched`).
#[derive(Debug)]
pub(super) struct BatchedLookups {
    sessions: Batched<User>,
    access_tokens: Batched<AccessTokenRow>,
}

impl BatchedLookups {
    /// For tests: lookups answered (or refused) by the given batchers.
    #[cfg(test)]
    pub(super) fn from_parts(sessions: Batched<User>, access_tokens: Batched<AccessTokenRow>) -> Self {
        Self {
            sessions,
            access_tokens,
        }
    }

    pub(super) fn start(pool: &sqlx::PgPool) -> Self {
        Self {
            sessions: Batched::start(pool.clone(), SELECT_SESSIONS_BATCHED),
            access_tokens: Batched::start(pool.clone(), SELECT_ACCESS_TOKENS_BATCHED),
        }
    }

    fn sessions(&self) -> &Batched<User> {
        &self.sessions
    }

    fn access_tokens(&self) -> &Batched<AccessTokenRow> {
        &self.access_tokens
    }
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub oidc_issuer: Option<&'a str>,
    pub oidc_subject: Option<&'a str>,
    pub oidc_sid: Option<&'a str>,
    pub id_token: Option<&'a str>,
    /// For a single sign-on: when the provider authenticated the person
    /// (the ID token's `auth_time`), if it said.
    pub authenticated_at: Option<i64>,
    /// For a sign-in by password: the password hash it was checked
    /// against. The session is written only while the account still has
    /// it (`StoreError::PasswordChanged` otherwise).
    pub password_hash: Option<&'a str>,
}

/// An access token row joined with its (current) user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessTokenRow {
    #[sqlx(flatten)]
    pub user: User,
    pub scopes: String,
}

pub struct NewAccessToken<'a> {
    pub token_hash: &'a str,
    pub family_id: &'a str,
    pub user_id: i64,
    pub scopes: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub type NewRefreshToken<'a> = NewAccessToken<'a>;

/// What presenting a refresh token finds (`Store::peek_refresh_token`;
/// `Store::rotate_refresh_token` spends it).
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshClaim {
    /// Unused and unexpired.
    Claimed {
        family_id: String,
        user_id: i64,
        scopes: String,
    },
    /// Already spent: a replay. The caller revokes the family.
    Reused { family_id: String },
    /// Unknown or expired.
    Invalid,
}

const INSERT_SESSION: &str = "INSERT INTO sessions \
    (token_hash, user_id, created_at, expires_at, oidc_issuer, oidc_subject, oidc_sid, id_token, authenticated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/// Taken before a sign-in by password writes its credential, in the same
/// transaction: it matches only while the account still has the password
/// hash the sign-in checked, and it locks the account's row (PostgreSQL) or
/// the database (SQLite) until the credential is written. A password change
/// (`set_password_hash`, then `revoke_user_credentials`) therefore either
/// comes first, and this matches nothing, or waits, and its revocation then
/// sees the new credential: a sign-in already checking the old password
/// when it changed gets nothing that outlives the change (SPEC 4.8). The
/// same holds for a disable (which revokes too): a session written after
/// it would come back to life if the account were enabled again.
pub(super) const PASSWORD_UNCHANGED: &str =
    "UPDATE users SET updated_at = updated_at WHERE id = $1 AND password_hash = $2 AND enabled = TRUE";
/// Returns `StoreError::PasswordChanged` from the enclosing function unless
/// `PASSWORD_UNCHANGED` matches, inside transaction `$tx`.
macro_rules! require_password_unchanged {
    ($tx:ident, $user_id:expr, $hash:expr) => {
        let matched = sqlx::query($crate::store::credentials::PASSWORD_UNCHANGED)
            .bind($user_id)
            .bind($hash)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if matched == 0 {
            return Err(StoreError::PasswordChanged);
        }
    };
}
pub(super) use require_password_unchanged;

pub(super) const INSERT_ACCESS_TOKEN: &str = "INSERT INTO access_tokens \
    (token_hash, family_id, user_id, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens \
    (token_hash, family_id, user_id, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
/// Marks the token used in the same statement that reads it, so of two
/// concurrent presentations exactly one wins.
pub(super) const CLAIM_REFRESH_TOKEN: &str = "UPDATE refresh_tokens SET used_at = $2 \
    WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING family_id, user_id, scopes";
pub(super) const SPENT_REFRESH_FAMILY: &str =
    "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL";

impl Store {
    pub async fn insert_session(&self, session: &NewSession<'_>) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            if let Some(hash) = session.password_hash {
                require_password_unchanged!(tx, session.user_id, hash);
            } else {
                // A single sign-on's session: under the owner's lock and
                // only while the account is enabled, so a disable (whose
                // revocation takes the same lock) cannot miss it on
                // PostgreSQL and have it come back with a re-enable.
                let enabled = sqlx::query(LOCK_ENABLED_OWNER)
                    .bind(session.user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if enabled == 0 {
                    return Err(StoreError::AccountDisabled);
                }
            }
            sqlx::query(INSERT_SESSION)
                .bind(session.token_hash)
                .bind(session.user_id)
                .bind(session.now)
                .bind(session.expires_at)
                .bind(session.oidc_issuer)
                .bind(session.oidc_subject)
                .bind(session.oidc_sid)
                .bind(session.id_token)
                .bind(session.authenticated_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The user behind the unexpired session with this hash, as they are now.
    pub async fn find_session(&self, token_hash: &str, now: i64) -> Result<Option<User>, StoreError> {
        let lookup = CredentialLookup {
            sql: SELECT_SESSION,
            direct: DirectReads::find_session,
            batched: BatchedLookups::sessions,
        };
        self.find_credential(lookup, token_hash, now).await
    }

    /// Deletes the session and returns what it kept of its sign-on, or
    /// `None` when there was no such session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<Option<EndedSession>, StoreError> {
        const SQL: &str = "DELETE FROM sessions WHERE token_hash = $1 \
            RETURNING oidc_issuer, oidc_subject, oidc_sid, id_token";
        Ok(on_pool!(self, p => sqlx::query_as(SQL).bind(token_hash).fetch_optional(p).await)?)
    }

    pub async fn insert_access_token(&self, token: &NewAccessToken<'_>) -> Result<(), StoreError> {
        self.insert_token(INSERT_ACCESS_TOKEN, token).await
    }

    pub async fn insert_refresh_token(&self, token: &NewRefreshToken<'_>) -> Result<(), StoreError> {
        self.insert_token(INSERT_REFRESH_TOKEN, token).await
    }

    async fn insert_token(&self, sql: &'static str, token: &NewAccessToken<'_>) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(sql)
            .bind(token.token_hash)
            .bind(token.family_id)
            .bind(token.user_id)
            .bind(token.scopes)
            .bind(token.now)
            .bind(token.expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// The unexpired access token with this hash, with its user as they are now.
    pub async fn find_access_token(&self, token_hash: &str, now: i64) -> Result<Option<AccessTokenRow>, StoreError> {
        let lookup = CredentialLookup {
            sql: SELECT_ACCESS_TOKEN,
            direct: DirectReads::find_access_token,
            batched: BatchedLookups::access_tokens,
        };
        self.find_credential(lookup, token_hash, now).await
    }

    /// The one seam of the lookup every authenticated request makes, by the
    /// cheapest way the engine has: on a SQLite file on the calling thread
    /// (`direct`), on PostgreSQL in a shared query (`batched`), and
    /// otherwise as one query through the pool. When a fast path cannot
    /// answer, the pool answers instead, and the fallback is counted and
    /// logged as a warning (`Fallbacks`).
    async fn find_credential<T>(
        &self,
        lookup: CredentialLookup<T>,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Clone + Send + Unpin + 'static,
    {
        if let Some(direct) = self.direct.as_deref() {
            match (lookup.direct)(direct, token_hash, now) {
                Ok(found) => return Ok(found),
                Err(err) => self.fallbacks.record("direct SQLite read", &err),
            }
        }
        if let Some(batched) = self.batched.as_deref() {
            match (lookup.batched)(batched).find(token_hash, now).await {
                Ok(found) => return Ok(found),
                Err(NotBatched::Unavailable(cause)) => return Err(StoreError::Unavailable(cause)),
                Err(why) => self.fallbacks.record("batched PostgreSQL lookup", &why),
            }
        }
        Ok(on_pool!(self, p => sqlx::query_as(lookup.sql).bind(token_hash).bind(now).fetch_optional(p).await)?)
    }

    /// How many credential lookups a fast path (`direct`, `batched`) could
    /// not answer since the store was opened; the pool answered them.
    pub fn credential_fallbacks(&self) -> u64 {
        self.fallbacks.0.load(Ordering::Relaxed)
    }

    /// Ends the family of access token `token_hash` (an app's logout), in
    /// one transaction, as `revoke_token_family` does; `false` when there
    /// is no such token.
    pub async fn end_access_token_family(&self, token_hash: &str) -> Result<bool, StoreError> {
        const FAMILY_OF: &str = "SELECT family_id FROM access_tokens WHERE token_hash = $1";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            // A write first: a SQLite transaction that read first fails at
            // once, busy, when another wrote meanwhile (see `LOCK_OWNER`).
            sqlx::query(LOCK_ACCESS_TOKEN_OWNER).bind(token_hash).execute(&mut *tx).await?;
            let family: Option<String> = sqlx::query_scalar(FAMILY_OF).bind(token_hash).fetch_optional(&mut *tx).await?;
            let Some(family) = family else {
                return Ok(false);
            };
            for sql in REVOKE_FAMILY {
                sqlx::query(sql).bind(&family).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Ends a whole token family: every refresh and access token issued from
    /// one password grant, and the client tokens its access tokens made
    /// (with what those made, by the schema's cascades). Under the owner's
    /// lock, like a rotation (`rotate_refresh_token` says why) and like
    /// the making of a client token (`lineage_of`).
    pub async fn revoke_token_family(&self, family_id: &str) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for sql in REVOKE_FAMILY {
                sqlx::query(sql).bind(family_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Ends every session, token and download link of a user: after a
    /// password change, when disabled, or when deleted.
    pub async fn revoke_user_credentials(&self, user_id: i64) -> Result<(), StoreError> {
        self.delete_of_user(user_id, &SIGN_INS).await
    }

    /// Ends every sign-in of a user, apps included ("sign out everywhere"):
    /// their sessions, access and refresh tokens, client tokens and devices,
    /// in one transaction. Pairing codes and approved device sign-ins still
    /// waiting for their poll go with their tokens (the schema's cascade).
    pub async fn revoke_user_everything(&self, user_id: i64) -> Result<(), StoreError> {
        let [sessions, access, refresh, links, made_by_apps] = SIGN_INS;
        self.delete_of_user(
            user_id,
            &[
                sessions,
                access,
                refresh,
                links,
                made_by_apps,
                DELETE_DEVICES_OF,
                DELETE_CLIENT_TOKENS_OF,
            ],
        )
        .await
    }

    /// Runs each `DELETE … WHERE user_id = $1` of `statements` in one
    /// transaction, under the user's lock: a refresh rotation or a sign-in
    /// running meanwhile either finishes first (and its rows are deleted
    /// here) or waits and finds its ground gone.
    async fn delete_of_user(&self, user_id: i64, statements: &[&str]) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(LOCK_OWNER).bind(user_id).execute(&mut *tx).await?;
            for sql in statements {
                sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<(), sqlx::Error>(())
        })?;
        Ok(())
    }

    /// How many live sessions a user has (for the admin pages and tests).
    pub async fn count_sessions(&self, user_id: i64, now: i64) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_at > $2";
        Ok(on_pool!(self, p => sqlx::query_scalar(SQL).bind(user_id).bind(now).fetch_one(p).await)?)
    }
}

/// Credential lookups that a fast path could not answer and the pool did
/// (SQLite busy, every direct reader in use, the batch queue full, a batch
/// query failed): counted, and each logged as a warning, since a steady
/// stream of them means the fast path costs more than it saves.
#[derive(Debug, Default)]
pub(super) struct Fallbacks(AtomicU64);

impl Fallbacks {
    fn record(&self, path: &'static str, reason: &dyn std::fmt::Display) {
        let total = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(path, reason = %reason, fallbacks = total, "credential lookup answered through the pool instead");
    }
}
