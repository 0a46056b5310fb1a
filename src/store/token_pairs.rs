//! A token pair is written whole or not at all. A grant answers with an
//! access and a refresh token; a rotation also spends the presented refresh
//! token. Each is one transaction, so a crash, a full disk or a lost
//! database between the writes leaves neither a spent token without its
//! successor (the client's retry would then look like a replay and cost it
//! the whole family) nor an access token nobody was given.

use super::credentials::{
    CLAIM_REFRESH_TOKEN, INSERT_ACCESS_TOKEN, INSERT_REFRESH_TOKEN, SPENT_REFRESH_FAMILY, require_password_unchanged,
};
use super::users::LOCK_OWNER;
use super::{NewAccessToken, NewRefreshToken, RefreshClaim, Store, StoreError, on_pool};

/// The refresh token, if usable: unspent and unexpired. Nothing is marked.
const USABLE_REFRESH_TOKEN: &str = "SELECT family_id, user_id, scopes FROM refresh_tokens \
    WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";

/// Binds a token row's six columns in the order of the INSERTs.
macro_rules! bind_token {
    ($sql:expr, $token:expr) => {
        sqlx::query($sql)
            .bind($token.token_hash)
            .bind($token.family_id)
            .bind($token.user_id)
            .bind($token.scopes)
            .bind($token.now)
            .bind($token.expires_at)
    };
}

impl Store {
    /// What presenting `token_hash` would find, without spending it:
    /// `Claimed` here means usable (`rotate_refresh_token` spends it).
    pub async fn peek_refresh_token(&self, token_hash: &str, now: i64) -> Result<RefreshClaim, StoreError> {
        let usable: Option<(String, i64, String)> = on_pool!(self, p => sqlx::query_as(USABLE_REFRESH_TOKEN)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(p)
            .await)?;
        if let Some((family_id, user_id, scopes)) = usable {
            return Ok(RefreshClaim::Claimed {
                family_id,
                user_id,
                scopes,
            });
        }
        let spent: Option<String> =
            on_pool!(self, p => sqlx::query_scalar(SPENT_REFRESH_FAMILY).bind(token_hash).fetch_optional(p).await)?;
        Ok(match spent {
            Some(family_id) => RefreshClaim::Reused { family_id },
            None => RefreshClaim::Invalid,
        })
    }

    /// Stores a new access and refresh token together. `password_hash`: for
    /// a grant by password, the hash it was checked against; the pair is
    /// written only while the account still has it
    /// (`StoreError::PasswordChanged` otherwise).
    pub async fn insert_token_pair(
        &self,
        access: &NewAccessToken<'_>,
        refresh: &NewRefreshToken<'_>,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            if let Some(hash) = password_hash {
                require_password_unchanged!(tx, access.user_id, hash);
            }
            bind_token!(INSERT_ACCESS_TOKEN, access).execute(&mut *tx).await.map_err(StoreError::from_write)?;
            bind_token!(INSERT_REFRESH_TOKEN, refresh).execute(&mut *tx).await.map_err(StoreError::from_write)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Spends the refresh token `spent_hash` and stores its successors, in
    /// one transaction. `false` when it was no longer usable (spent by a
    /// concurrent presentation, expired meanwhile, or revoked): nothing is
    /// written.
    ///
    /// The owner's lock comes first, as in every revocation: on PostgreSQL a
    /// revocation's `DELETE … WHERE user_id` (or `family_id`) sees only rows
    /// committed when it started, so a rotation running beside it would
    /// leave a successor the revocation never saw, and the chain would live
    /// on after a password change or a replay. Under the lock the two take
    /// turns: the revocation deletes the successor, or the rotation finds
    /// its token gone.
    pub async fn rotate_refresh_token(
        &self,
        spent_hash: &str,
        now: i64,
        access: &NewAccessToken<'_>,
        refresh: &NewRefreshToken<'_>,
    ) -> Result<bool, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(LOCK_OWNER).bind(access.user_id).execute(&mut *tx).await?;
            let claimed = sqlx::query(CLAIM_REFRESH_TOKEN)
                .bind(spent_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if claimed.is_none() {
                return Ok(false);
            }
            bind_token!(INSERT_ACCESS_TOKEN, access).execute(&mut *tx).await?;
            bind_token!(INSERT_REFRESH_TOKEN, refresh).execute(&mut *tx).await?;
            tx.commit().await.map(|()| true)
        })
        .map_err(StoreError::from_write)
    }
}
