//! Client tokens and the devices they belong to (SPEC 8.2, 8.4): the lookup
//! every `rmm_` request makes, the coalesced last-use write, and the
//! management of one's tokens. Only keyed hashes of tokens are stored.
//!
//! Guarantee: a person never holds more than the cap of tokens, even when
//! creates arrive at once on several instances: the count and the insert
//! run in one transaction that first locks the owner's row (see
//! `insert_client_token`).

use super::users::user_columns_u;
use super::users::{LOCK_CLIENT_TOKEN_OWNER, count_under_owner_lock};
use super::{Store, StoreError, User, on_pool};

/// A client token joined with its (current) owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientTokenAuth {
    #[sqlx(flatten)]
    pub user: User,
    pub token_id: i64,
    pub device_id: Option<String>,
    pub scopes: String,
    pub last_used_at: Option<i64>,
}

/// A client token as its owner and the administrators see it: never its
/// hash. `scopes` is the space-separated list granted at creation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClientToken {
    pub id: i64,
    pub user_id: i64,
    pub device_id: Option<String>,
    pub name: String,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A client token with its owner's username and its device's name, if it
/// belongs to one (the administrators' list).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClientTokenWithOwner {
    #[sqlx(flatten)]
    pub token: ClientToken,
    pub username: String,
    pub device_name: Option<String>,
}

/// A client token about to be stored. `token_hash` is `None` only for a
/// device sign-in whose secret is made at the device's poll.
#[derive(Debug, Clone)]
pub struct NewClientToken {
    pub user_id: i64,
    pub device_id: Option<String>,
    pub name: String,
    pub token_hash: Option<String>,
    pub scopes: String,
    pub expires_at: Option<i64>,
    /// The credential whose request makes this token: the token is ended
    /// with it.
    pub minted_by: Minter,
}

/// The credential behind a request that makes a client token (creating
/// one, approving a device): what a credential makes is ended with it (the
/// two lineage migrations say how).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Minter {
    /// A person at their own account (a browser session, HTTP Basic): the
    /// token lives on its own, as making tokens for one's apps is what the
    /// tokens and devices pages are for.
    Person,
    /// A client token, by id: recorded as `minted_by`.
    ClientToken(i64),
    /// An access token of `/api/token`, by its hash: its family is
    /// recorded as `minted_by_family`.
    AccessToken(String),
}

/// A token's lineage columns: `minted_by`, `minted_by_family`.
pub(super) type Lineage = (Option<i64>, Option<String>);

pub(super) const MINTER_FAMILY: &str = "SELECT family_id FROM access_tokens WHERE token_hash = $1";

/// Inside transaction `$tx`, after the owner's lock: the lineage columns
/// for a token that `$minter` (a `&Minter`) makes, or
/// `StoreError::MinterEnded` when that access token has been ended since it
/// authenticated the request. Revoking a family or a user's sign-ins takes
/// the same lock, so it either ended the access token before this reads it,
/// or waits and then deletes what this writes. A client token is deleted
/// without the lock: the insert's foreign key catches that (`minting_write`).
macro_rules! lineage_of {
    ($tx:ident, $minter:expr) => {{
        use $crate::store::client_tokens::{Lineage, MINTER_FAMILY, Minter};
        let lineage: Result<Lineage, StoreError> = match $minter {
            Minter::Person => Ok((None, None)),
            Minter::ClientToken(id) => Ok((Some(*id), None)),
            Minter::AccessToken(hash) => sqlx::query_scalar::<_, String>(MINTER_FAMILY)
                .bind(hash.as_str())
                .fetch_optional(&mut *$tx)
                .await?
                .map(|family| (None, Some(family)))
                .ok_or(StoreError::MinterEnded),
        };
        lineage
    }};
}
pub(super) use lineage_of;

impl StoreError {
    /// A refused insert of a client token: a foreign key that no longer
    /// holds means its minter (or owner) was deleted meanwhile.
    pub(super) fn minting_write(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::MinterEnded,
            _ => StoreError::from_write(err),
        }
    }
}

/// The token columns, for single-table queries and `RETURNING`.
macro_rules! token_columns {
    () => {
        "id, user_id, device_id, name, scopes, created_at, expires_at, last_used_at"
    };
}

/// The token columns prefixed with the `ct` alias, for joins.
macro_rules! token_columns_ct {
    () => {
        "ct.id, ct.user_id, ct.device_id, ct.name, ct.scopes, ct.created_at, ct.expires_at, ct.last_used_at"
    };
}

const SELECT_FOR_AUTH: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    ", ct.id AS token_id, ct.device_id, ct.scopes, ct.last_used_at ",
    "FROM client_tokens ct JOIN users u ON u.id = ct.user_id ",
    "WHERE ct.token_hash = $1 AND (ct.expires_at IS NULL OR ct.expires_at > $2)"
);
/// Writes the last use only when the stored one is older than `$3`: of
/// several requests at once (on any instance) one writes, the rest find
/// the row already fresh.
const TOUCH_TOKEN: &str = "UPDATE client_tokens SET last_used_at = $2 \
    WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)";
const TOUCH_DEVICE: &str = "UPDATE devices SET last_seen_at = $2 WHERE id = $1";
pub(super) const COUNT_OF_USER: &str = "SELECT COUNT(*) FROM client_tokens WHERE user_id = $1";
const INSERT: &str = concat!(
    "INSERT INTO client_tokens (user_id, device_id, name, token_hash, scopes, created_at, expires_at, minted_by, ",
    "minted_by_family) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
    token_columns!()
);
const SELECT_OF_USER: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM client_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
);
const SELECT_ALL: &str = concat!(
    "SELECT ",
    token_columns_ct!(),
    ", u.username, d.name AS device_name FROM client_tokens ct JOIN users u ON u.id = ct.user_id ",
    "LEFT JOIN devices d ON d.id = ct.device_id ",
    "ORDER BY ct.created_at DESC, ct.id DESC"
);
/// `$2` NULL: any owner (an administrator's action).
const SELECT_ONE: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM client_tokens WHERE id = $1 AND ($2 IS NULL OR user_id = $2)"
);
const DELETE_ONE: &str = "DELETE FROM client_tokens WHERE id = $1 AND ($2 IS NULL OR user_id = $2)";
/// What the old secret made (client tokens, download links): ended with it.
const DELETE_MINTED_TOKENS: &str = "DELETE FROM client_tokens WHERE minted_by = $1";
const DELETE_MINTED_LINKS: &str = "DELETE FROM download_links WHERE client_token_id = $1";
/// A new secret: the old one stops matching at once. The last use is
/// cleared, as it was the old secret's.
const SET_HASH: &str = concat!(
    "UPDATE client_tokens SET token_hash = $3, last_used_at = NULL ",
    "WHERE id = $1 AND ($2 IS NULL OR user_id = $2) RETURNING ",
    token_columns!()
);

impl Store {
    /// The unexpired client token with this hash, and its owner.
    pub async fn find_client_token(&self, token_hash: &str, now: i64) -> Result<Option<ClientTokenAuth>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_FOR_AUTH).bind(token_hash).bind(now).fetch_optional(p).await)?)
    }

    /// Records that token `token_id` (and its device, if any) was used at
    /// `now`, unless its last use is more recent than `stale_before`. True
    /// when this call wrote.
    pub async fn touch_client_token(
        &self,
        token_id: i64,
        device_id: Option<&str>,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        let touched = on_pool!(self, p => sqlx::query(TOUCH_TOKEN)
            .bind(token_id)
            .bind(now)
            .bind(stale_before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if touched == 0 {
            return Ok(false);
        }
        if let Some(device_id) = device_id {
            on_pool!(self, p => sqlx::query(TOUCH_DEVICE).bind(device_id).bind(now).execute(p).await.map(|_| ()))?;
        }
        Ok(true)
    }

    /// Stores `token` unless its owner already holds `max_per_user` tokens
    /// (`Ok(None)`), or its minter was ended meanwhile
    /// (`StoreError::MinterEnded`). Atomic per owner on both engines: the
    /// owner's row is locked before counting, so concurrent creates are
    /// counted one after the other.
    pub async fn insert_client_token(
        &self,
        token: &NewClientToken,
        max_per_user: i64,
        now: i64,
    ) -> Result<Option<ClientToken>, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let held = count_under_owner_lock!(tx, token.user_id, COUNT_OF_USER);
            if held >= max_per_user {
                return Ok(None);
            }
            let (minted_by, minted_by_family) = lineage_of!(tx, &token.minted_by)?;
            let created: ClientToken = sqlx::query_as(INSERT)
                .bind(token.user_id)
                .bind(token.device_id.as_deref())
                .bind(&token.name)
                .bind(token.token_hash.as_deref())
                .bind(&token.scopes)
                .bind(now)
                .bind(token.expires_at)
                .bind(minted_by)
                .bind(minted_by_family)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::minting_write)?;
            tx.commit().await?;
            Ok(Some(created))
        })
    }

    /// User `user_id`'s tokens, newest first (expired ones included).
    pub async fn client_tokens_of(&self, user_id: i64) -> Result<Vec<ClientToken>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_OF_USER).bind(user_id).fetch_all(p).await)?)
    }

    /// Every client token with its owner's username, newest first.
    pub async fn all_client_tokens(&self) -> Result<Vec<ClientTokenWithOwner>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_ALL).fetch_all(p).await)?)
    }

    /// Token `id`, if it exists and (when `owner` is given) belongs to them.
    pub async fn find_client_token_by_id(
        &self,
        id: i64,
        owner: Option<i64>,
    ) -> Result<Option<ClientToken>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_ONE).bind(id).bind(owner).fetch_optional(p).await)?)
    }

    /// Whether token `id` was made by the sign-in (the token family) of
    /// access token `access_hash`.
    pub async fn client_token_made_by_access_token(&self, id: i64, access_hash: &str) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM client_tokens ct \
            JOIN access_tokens a ON a.family_id = ct.minted_by_family WHERE ct.id = $1 AND a.token_hash = $2)";
        Ok(on_pool!(self, p => sqlx::query_scalar(SQL).bind(id).bind(access_hash).fetch_one(p).await)?)
    }

    /// Deletes token `id` (only `owner`'s, when given); its pairing codes go
    /// with it. True when it existed.
    pub async fn delete_client_token(&self, id: i64, owner: Option<i64>) -> Result<bool, StoreError> {
        // The owner's lock first, as every revocation takes it.
        let deleted = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(LOCK_CLIENT_TOKEN_OWNER).bind(id).execute(&mut *tx).await?;
            let deleted = sqlx::query(DELETE_ONE).bind(id).bind(owner).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(deleted)
        })?;
        Ok(deleted > 0)
    }

    /// Gives token `id` (only `owner`'s, when given) the secret whose hash
    /// is `token_hash`, and ends the client tokens and download links that
    /// requests with the old secret made, in one transaction (a new secret
    /// is what one asks for when the old one leaked); `None` when there is
    /// no such token.
    pub async fn set_client_token_hash(
        &self,
        id: i64,
        owner: Option<i64>,
        token_hash: &str,
    ) -> Result<Option<ClientToken>, StoreError> {
        // The owner's lock first, as every revocation takes it.
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(LOCK_CLIENT_TOKEN_OWNER).bind(id).execute(&mut *tx).await?;
            let token: Option<ClientToken> = sqlx::query_as(SET_HASH)
                .bind(id)
                .bind(owner)
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            if token.is_some() {
                sqlx::query(DELETE_MINTED_TOKENS).bind(id).execute(&mut *tx).await?;
                sqlx::query(DELETE_MINTED_LINKS).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(token)
        })
    }
}
