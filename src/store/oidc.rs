//! OpenID Connect state: login attempts (so a sign-in started on one
//! instance can finish on another), identity links, back-channel logout.

use super::users::LOCK_OWNER;
use super::users::user_columns_u;
use super::{NewUser, Store, StoreError, User, on_pool};

/// A sign-in in progress: what the callback needs to finish it.
#[derive(Clone, sqlx::FromRow)]
pub struct LoginAttempt {
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_path: Option<String>,
    pub expires_at: i64,
}

impl std::fmt::Debug for LoginAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

pub struct NewLoginAttempt<'a> {
    pub state_hash: &'a str,
    pub browser_hash: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub next_path: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

/// What `link_by_email` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    /// The identity is linked to the account (now, or already).
    Linked,
    /// The account is linked to another subject at this issuer: nothing
    /// was written.
    OtherSubject,
}

/// One identity (issuer, subject) linked to a user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityLink {
    pub issuer: String,
    pub subject: String,
    pub user_id: i64,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

const INSERT_ATTEMPT: &str = "INSERT INTO oidc_login_attempts \
    (state_hash, browser_hash, nonce, pkce_verifier, next_path, created_at, expires_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// Reads and deletes in one statement: an attempt is used at most once, and
/// only by the browser bound to it (the binding is in the WHERE clause, so a
/// callback from elsewhere deletes nothing). Both values are keyed hashes;
/// comparing them in SQL leaks nothing usable about the secrets behind them.
const TAKE_ATTEMPT: &str = "DELETE FROM oidc_login_attempts WHERE state_hash = $1 AND browser_hash = $2 \
    RETURNING nonce, pkce_verifier, next_path, expires_at";
const ATTEMPT_EXISTS: &str = "SELECT COUNT(*) FROM oidc_login_attempts WHERE state_hash = $1";
const SELECT_LINKED_USER: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    " FROM identity_links l JOIN users u ON u.id = l.user_id WHERE l.issuer = $1 AND l.subject = $2"
);
const INSERT_LINK: &str =
    "INSERT INTO identity_links (issuer, subject, user_id, created_at, last_login_at) VALUES ($1, $2, $3, $4, $4)";

impl Store {
    pub async fn insert_login_attempt(&self, attempt: &NewLoginAttempt<'_>) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(INSERT_ATTEMPT)
            .bind(attempt.state_hash)
            .bind(attempt.browser_hash)
            .bind(attempt.nonce)
            .bind(attempt.pkce_verifier)
            .bind(attempt.next_path)
            .bind(attempt.now)
            .bind(attempt.expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Consumes the attempt with this state when it is bound to this
    /// browser: a second call, or a call with another browser's hash, finds
    /// nothing and changes nothing.
    pub async fn take_login_attempt(
        &self,
        state_hash: &str,
        browser_hash: &str,
    ) -> Result<Option<LoginAttempt>, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query_as(TAKE_ATTEMPT).bind(state_hash).bind(browser_hash).fetch_optional(p).await)?,
        )
    }

    /// Whether a sign-in with this state is in progress (in any browser):
    /// only to tell "started elsewhere" from "unknown" in the refusal.
    pub async fn login_attempt_exists(&self, state_hash: &str) -> Result<bool, StoreError> {
        let count: i64 = on_pool!(self, p => sqlx::query_scalar(ATTEMPT_EXISTS).bind(state_hash).fetch_one(p).await)?;
        Ok(count > 0)
    }

    pub async fn find_linked_user(&self, issuer: &str, subject: &str) -> Result<Option<User>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_LINKED_USER).bind(issuer).bind(subject).fetch_optional(p).await)?)
    }

    pub async fn insert_link(&self, issuer: &str, subject: &str, user_id: i64, now: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(INSERT_LINK)
            .bind(issuer)
            .bind(subject)
            .bind(user_id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Links (issuer, subject) to user `user_id`, unless the user already
    /// has another subject at this issuer. Under the user's lock, so of two
    /// first sign-ins of different subjects at once only one links.
    pub async fn link_by_email(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
        now: i64,
    ) -> Result<LinkOutcome, StoreError> {
        const SUBJECTS_AT_ISSUER: &str = "SELECT subject FROM identity_links WHERE user_id = $1 AND issuer = $2";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(LOCK_OWNER).bind(user_id).execute(&mut *tx).await?;
            let subjects: Vec<String> =
                sqlx::query_scalar(SUBJECTS_AT_ISSUER).bind(user_id).bind(issuer).fetch_all(&mut *tx).await?;
            if subjects.iter().any(|linked| linked != subject) {
                return Ok(LinkOutcome::OtherSubject);
            }
            if subjects.is_empty() {
                let inserted = sqlx::query(INSERT_LINK)
                    .bind(issuer)
                    .bind(subject)
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_write);
                match inserted {
                    Ok(_) => {}
                    // The same subject linked meanwhile (a concurrent first
                    // sign-in of the same person): linked all the same.
                    Err(StoreError::Conflict(_)) => return Ok(LinkOutcome::Linked),
                    Err(other) => return Err(other),
                }
            }
            tx.commit().await?;
            Ok(LinkOutcome::Linked)
        })
    }

    pub async fn touch_link(&self, issuer: &str, subject: &str, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE identity_links SET last_login_at = $3 WHERE issuer = $1 AND subject = $2";
        on_pool!(self, p => sqlx::query(SQL).bind(issuer).bind(subject).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Creates a user and its identity link together: of two concurrent first
    /// logins of one person, one commits and the other gets `Conflict`.
    pub async fn insert_user_with_link(
        &self,
        user: &NewUser,
        issuer: &str,
        subject: &str,
        now: i64,
    ) -> Result<User, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let created: User = super::users::bind_new_user(sqlx::query_as(super::users::INSERT_USER), user, now)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            sqlx::query(INSERT_LINK)
                .bind(issuer)
                .bind(subject)
                .bind(created.id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            tx.commit().await?;
            Ok(created)
        })
    }

    /// Removes every identity link of user `user_id`: how many there were.
    pub async fn delete_links(&self, user_id: i64) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM identity_links WHERE user_id = $1";
        Ok(on_pool!(self, p => sqlx::query(SQL).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?)
    }

    pub async fn list_links(&self, user_id: i64) -> Result<Vec<IdentityLink>, StoreError> {
        const SQL: &str = "SELECT issuer, subject, user_id, created_at, last_login_at FROM identity_links \
            WHERE user_id = $1 ORDER BY created_at";
        Ok(on_pool!(self, p => sqlx::query_as(SQL).bind(user_id).fetch_all(p).await)?)
    }

    /// Every identity link of every user, in one query (ordered by user,
    /// then age), for the administrators' overview.
    pub async fn list_all_links(&self) -> Result<Vec<IdentityLink>, StoreError> {
        const SQL: &str = "SELECT issuer, subject, user_id, created_at, last_login_at FROM identity_links \
            ORDER BY user_id, created_at";
        Ok(on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await)?)
    }

    /// Ends the OIDC sessions of one provider session (`sid`), or of every
    /// session of one subject when `sid` is `None`. Returns how many.
    pub async fn delete_oidc_sessions(
        &self,
        issuer: &str,
        subject: Option<&str>,
        sid: Option<&str>,
    ) -> Result<u64, StoreError> {
        const BY_SID: &str = "DELETE FROM sessions WHERE oidc_issuer = $1 AND oidc_sid = $2";
        const BY_SUBJECT: &str = "DELETE FROM sessions WHERE oidc_issuer = $1 AND oidc_subject = $2";
        let (sql, value) = match (sid, subject) {
            (Some(sid), _) => (BY_SID, sid),
            (None, Some(subject)) => (BY_SUBJECT, subject),
            (None, None) => return Ok(0),
        };
        Ok(on_pool!(self, p => sqlx::query(sql).bind(issuer).bind(value).execute(p).await.map(|r| r.rows_affected()))?)
    }

    /// Records a logout token's `jti`; false when it was seen before (a replay).
    pub async fn remember_logout_token(&self, issuer: &str, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO oidc_seen_logout_tokens (issuer, jti, expires_at) VALUES ($1, $2, $3) \
            ON CONFLICT (issuer, jti) DO NOTHING";
        let inserted = on_pool!(self, p => sqlx::query(SQL).bind(issuer).bind(jti).bind(expires_at).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(inserted > 0)
    }
}
