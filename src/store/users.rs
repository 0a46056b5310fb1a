//! Users and the administrator guard.

use std::fmt;

use super::{Store, StoreError, on_pool};
use crate::access::Role;

/// The user columns, for single-table queries and `RETURNING`.
macro_rules! user_columns {
    () => {
        "id, username, email, role, enabled, created_at, updated_at, last_login_at, last_active_at"
    };
}

/// The user columns prefixed with the `u` alias, for joins.
macro_rules! user_columns_u {
    () => {
        "u.id, u.username, u.email, u.role, u.enabled, u.created_at, u.updated_at, u.last_login_at, u.last_active_at"
    };
}
pub(super) use user_columns_u;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
    pub last_active_at: Option<i64>,
}

/// A user with the password hash, loaded only by the password check.
#[derive(Clone, sqlx::FromRow)]
pub struct UserWithHash {
    #[sqlx(flatten)]
    pub user: User,
    pub password_hash: Option<String>,
}

impl fmt::Debug for UserWithHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserWithHash")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A user about to be inserted. The username and email are already
/// validated; their case-folded keys enforce uniqueness.
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    /// Whether romgate vouches for `email` (SPEC 9): it was given by an
    /// administrator, the CLI, the setup wizard, or a provider that
    /// verified it. Only a trusted email links an SSO identity.
    pub email_trusted: bool,
    pub password_hash: Option<String>,
    pub role: Role,
    pub enabled: bool,
}

/// A partial update; `None` leaves the column alone.
#[derive(Default)]
pub struct UserChanges {
    pub username: Option<String>,
    pub email: Option<Option<String>>,
    /// Whether the email being set is trusted (see `NewUser`). Ignored
    /// unless `email` is set; setting the email the account already has
    /// keeps its trust (so re-saving a form drops nothing), and an untrusted
    /// change to another address drops it. Default: untrusted.
    pub email_trusted: bool,
    pub role: Option<Role>,
    pub enabled: Option<bool>,
}

/// A user with whether romgate trusts its email.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserWithTrust {
    #[sqlx(flatten)]
    pub user: User,
    pub email_trusted: bool,
}

/// The case-insensitive key of a username or email.
pub fn fold(value: &str) -> String {
    value.to_lowercase()
}

pub(super) const INSERT_USER: &str = concat!(
    "INSERT INTO users (username, username_key, email, email_key, password_hash, role, enabled, created_at, updated_at, email_trusted) ",
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING ",
    user_columns!()
);
const SELECT_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
const SELECT_BY_USERNAME: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE username_key = $1");
const SELECT_BY_EMAIL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE email_key = $1");
const SELECT_BY_EMAIL_WITH_TRUST: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", email_trusted FROM users WHERE email_key = $1"
);
const SELECT_WITH_HASH: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", password_hash FROM users WHERE username_key = $1"
);
const SELECT_ALL: &str = concat!("SELECT ", user_columns!(), " FROM users ORDER BY id");
const SELECT_ALL_WITH_TRUST: &str = concat!("SELECT ", user_columns!(), ", email_trusted FROM users ORDER BY id");
const UPDATE_USER: &str = concat!(
    "UPDATE users SET ",
    "username = COALESCE($2, username), username_key = COALESCE($3, username_key), ",
    "email = CASE WHEN $4 THEN $5 ELSE email END, email_key = CASE WHEN $4 THEN $6 ELSE email_key END, ",
    // Right-hand columns are the old values: the same address keeps its
    // trust (or gains it), another one takes the trust of who set it.
    "email_trusted = CASE WHEN $4 AND email_key = $6 THEN (email_trusted OR $10) ",
    "WHEN $4 THEN $10 ELSE email_trusted END, ",
    "role = COALESCE($7, role), enabled = COALESCE($8, enabled), updated_at = $9 ",
    "WHERE id = $1 RETURNING ",
    user_columns!()
);
/// Takes the user's row lock (PostgreSQL) or the database's write lock
/// (SQLite) without changing anything: what counts one person's rows
/// against a cap (client tokens, device approvals, chunked uploads) queues
/// behind it, and every write or revocation of their credentials takes it
/// first, so the two take turns (a revocation's DELETE on PostgreSQL sees
/// only rows committed when it began) and rows are always locked owner
/// first. A non-key column, so rows referring to the user (sessions,
/// tokens) can still be written meanwhile on PostgreSQL. Being a write, it
/// also opens a SQLite transaction as SQLite needs (one that read first
/// fails when another wrote meanwhile). The variants below find the owner
/// another way.
pub(super) const LOCK_OWNER: &str = "UPDATE users SET enabled = enabled WHERE id = $1";
/// `LOCK_OWNER`, matching only an enabled account (no row: disabled or gone).
pub(super) const LOCK_ENABLED_OWNER: &str = "UPDATE users SET enabled = enabled WHERE id = $1 AND enabled = TRUE";
/// `LOCK_OWNER` for the owner of token family `$1`.
pub(super) const LOCK_FAMILY_OWNER: &str = "UPDATE users SET enabled = enabled WHERE id IN \
    (SELECT user_id FROM refresh_tokens WHERE family_id = $1 \
     UNION SELECT user_id FROM access_tokens WHERE family_id = $1)";
/// `LOCK_OWNER` for the owner of client token `$1`.
pub(super) const LOCK_CLIENT_TOKEN_OWNER: &str =
    "UPDATE users SET enabled = enabled WHERE id = (SELECT user_id FROM client_tokens WHERE id = $1)";
/// `LOCK_OWNER` for the owner of access token `$1` (by its hash).
pub(super) const LOCK_ACCESS_TOKEN_OWNER: &str =
    "UPDATE users SET enabled = enabled WHERE id = (SELECT user_id FROM access_tokens WHERE token_hash = $1)";
/// `LOCK_OWNER` for the person who approved the device sign-in whose
/// device code hash is `$1`.
pub(super) const LOCK_FLOW_OWNER: &str =
    "UPDATE users SET enabled = enabled WHERE id = (SELECT user_id FROM device_flows WHERE device_code_hash = $1)";

/// Inside transaction `$tx`: takes user `$user_id`'s lock (`LOCK_OWNER`),
/// then evaluates to what `$count_sql` (its one parameter: the user)
/// counts. A per-person cap checked on this count holds against concurrent
/// writers, which queue behind the lock.
macro_rules! count_under_owner_lock {
    ($tx:ident, $user_id:expr, $count_sql:expr) => {{
        sqlx::query($crate::store::users::LOCK_OWNER)
            .bind($user_id)
            .execute(&mut *$tx)
            .await?;
        let count: i64 = sqlx::query_scalar($count_sql)
            .bind($user_id)
            .fetch_one(&mut *$tx)
            .await?;
        count
    }};
}
pub(super) use count_under_owner_lock;
/// Serialises administrator-changing transactions on both engines: on
/// PostgreSQL the row lock makes the next one wait; on SQLite the write takes
/// the database lock.
const TAKE_ADMIN_GUARD: &str = "UPDATE app_meta SET admin_guard = admin_guard + 1 WHERE id = 1";
const COUNT_ENABLED_ADMINS: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND enabled = TRUE";
const ADMIN_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')";

impl Store {
    pub async fn insert_user(&self, user: &NewUser, now: i64) -> Result<User, StoreError> {
        on_pool!(self, p => bind_new_user(sqlx::query_as(INSERT_USER), user, now).fetch_one(p).await)
            .map_err(StoreError::from_write)
    }

    /// Creates `user` as the first administrator, atomically: `Ok(None)` when
    /// an administrator already exists. Concurrent callers yield one admin.
    pub async fn insert_first_admin(&self, user: &NewUser, now: i64) -> Result<Option<User>, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(TAKE_ADMIN_GUARD).execute(&mut *tx).await?;
            let exists: bool = sqlx::query_scalar(ADMIN_EXISTS).fetch_one(&mut *tx).await?;
            if exists {
                return Ok(None);
            }
            let created = bind_new_user(sqlx::query_as(INSERT_USER), user, now)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            tx.commit().await?;
            Ok(Some(created))
        })
    }

    pub async fn admin_exists(&self) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar(ADMIN_EXISTS).fetch_one(p).await)?)
    }

    pub async fn find_user(&self, id: i64) -> Result<Option<User>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_BY_ID).bind(id).fetch_optional(p).await)?)
    }

    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let key = fold(username);
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_BY_USERNAME).bind(&key).fetch_optional(p).await)?)
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let key = fold(email);
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_BY_EMAIL).bind(&key).fetch_optional(p).await)?)
    }

    /// The account holding `email` (case-insensitive), with its trust.
    pub async fn find_user_by_email_with_trust(&self, email: &str) -> Result<Option<UserWithTrust>, StoreError> {
        let key = fold(email);
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_BY_EMAIL_WITH_TRUST).bind(&key).fetch_optional(p).await)?)
    }

    /// Whether user `id` has an email romgate trusts (false when unknown).
    pub async fn email_trusted(&self, id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT email_trusted FROM users WHERE id = $1";
        let found: Option<bool> = on_pool!(self, p => sqlx::query_scalar(SQL).bind(id).fetch_optional(p).await)?;
        Ok(found.unwrap_or(false))
    }

    /// Marks user `id`'s email trusted, only if it still is `email`
    /// (case-insensitive): a provider proved this address. True when it
    /// changed.
    pub async fn trust_email(&self, id: i64, email: &str) -> Result<bool, StoreError> {
        const SQL: &str =
            "UPDATE users SET email_trusted = TRUE WHERE id = $1 AND email_key = $2 AND email_trusted = FALSE";
        let key = fold(email);
        let changed =
            on_pool!(self, p => sqlx::query(SQL).bind(id).bind(&key).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }

    /// Whether user `id` has a usable password.
    pub async fn has_password(&self, id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT password_hash IS NOT NULL FROM users WHERE id = $1";
        let found: Option<bool> = on_pool!(self, p => sqlx::query_scalar(SQL).bind(id).fetch_optional(p).await)?;
        Ok(found.unwrap_or(false))
    }

    /// When the provider authenticated the person behind the live single
    /// sign-on session `token_hash` (`None` for a password session, an
    /// unknown or expired one, or a provider that did not say): the proof
    /// a password-less person gives for changing their own account.
    pub async fn sso_authenticated_at(&self, token_hash: &str, now: i64) -> Result<Option<i64>, StoreError> {
        const SQL: &str = "SELECT authenticated_at FROM sessions \
            WHERE token_hash = $1 AND expires_at > $2 AND oidc_issuer IS NOT NULL";
        let found: Option<Option<i64>> =
            on_pool!(self, p => sqlx::query_scalar(SQL).bind(token_hash).bind(now).fetch_optional(p).await)?;
        Ok(found.flatten())
    }

    pub async fn find_user_with_hash(&self, username: &str) -> Result<Option<UserWithHash>, StoreError> {
        let key = fold(username);
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_WITH_HASH).bind(&key).fetch_optional(p).await)?)
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_ALL).fetch_all(p).await)?)
    }

    /// Every user with its email trust, in one query.
    pub async fn list_users_with_trust(&self) -> Result<Vec<UserWithTrust>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_ALL_WITH_TRUST).fetch_all(p).await)?)
    }

    /// Applies `changes`, refusing with `LastAdmin` when it would take away
    /// the last enabled administrator.
    pub async fn update_user(&self, id: i64, changes: &UserChanges, now: i64) -> Result<Option<User>, StoreError> {
        let email_set = changes.email.is_some();
        let email = changes.email.clone().flatten();
        let email_key = email.as_deref().map(fold);
        let email_trusted = changes.email_trusted && email.is_some();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(TAKE_ADMIN_GUARD).execute(&mut *tx).await?;
            let admins_before: i64 = sqlx::query_scalar(COUNT_ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            let updated: Option<User> = sqlx::query_as(UPDATE_USER)
                .bind(id)
                .bind(changes.username.as_deref())
                .bind(changes.username.as_deref().map(fold))
                .bind(email_set)
                .bind(email.as_deref())
                .bind(email_key.as_deref())
                .bind(changes.role.map(Role::as_str))
                .bind(changes.enabled)
                .bind(now)
                .bind(email_trusted)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            let admins: i64 = sqlx::query_scalar(COUNT_ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            if admins == 0 && admins_before > 0 {
                return Err(StoreError::LastAdmin);
            }
            tx.commit().await?;
            Ok(updated)
        })
    }

    /// Deletes a user (their sessions, tokens and links go with them),
    /// refusing with `LastAdmin` for the last enabled administrator.
    pub async fn delete_user(&self, id: i64) -> Result<bool, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(TAKE_ADMIN_GUARD).execute(&mut *tx).await?;
            let admins_before: i64 = sqlx::query_scalar(COUNT_ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            let deleted = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
            let admins: i64 = sqlx::query_scalar(COUNT_ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            if admins == 0 && admins_before > 0 {
                return Err(StoreError::LastAdmin);
            }
            tx.commit().await?;
            Ok(deleted.rows_affected() > 0)
        })
    }

    /// Sets the password hash to `new` only while it is `old`: `false` when
    /// it changed meanwhile (nothing was written).
    pub async fn replace_password_hash(&self, id: i64, old: &str, new: &str, now: i64) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET password_hash = $3, updated_at = $4 WHERE id = $1 AND password_hash = $2";
        let replaced = on_pool!(self, p => sqlx::query(SQL)
            .bind(id)
            .bind(old)
            .bind(new)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(replaced == 1)
    }

    pub async fn set_password_hash(&self, id: i64, hash: &str, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
        on_pool!(self, p => sqlx::query(SQL).bind(id).bind(hash).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn record_login(&self, id: i64, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET last_login_at = $2, last_active_at = $2 WHERE id = $1";
        on_pool!(self, p => sqlx::query(SQL).bind(id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn record_activity(&self, id: i64, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET last_active_at = $2 WHERE id = $1";
        on_pool!(self, p => sqlx::query(SQL).bind(id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}

pub(super) fn bind_new_user<'q, DB, O>(
    query: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
    user: &'q NewUser,
    now: i64,
) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(user.username.as_str())
        .bind(fold(&user.username))
        .bind(user.email.as_deref())
        .bind(user.email.as_deref().map(fold))
        .bind(user.password_hash.as_deref())
        .bind(user.role.as_str())
        .bind(user.enabled)
        .bind(now)
        .bind(user.email_trusted && user.email.is_some())
}
