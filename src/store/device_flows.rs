//! Device sign-ins (SPEC 8.3): the `device_flows` rows both RomM's flow and
//! RFC 8628 keep, so any instance on one database can serve any step.
//!
//! Guarantees: every change of a flow's status is ONE conditional statement
//! (`… WHERE status = 'pending'`, `… WHERE status = 'approved'`), so of two
//! decisions or two polls racing, on one instance or two, exactly one
//! matches a row; the other changes nothing. An approval writes the flow,
//! the device and its client token in one transaction, and the token gets
//! its (hashed) secret only in the transaction of the one poll that
//! receives it. Codes arrive here as keyed hashes only.

use super::client_tokens::{COUNT_OF_USER, Minter, lineage_of};
use super::users::{LOCK_FLOW_OWNER, count_under_owner_lock};
use super::{Store, StoreError, on_pool};

/// A flow as the person approving it and the polling device see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceFlow {
    pub oauth_client_id: Option<String>,
    pub client_device_identifier: String,
    pub name: String,
    pub client: String,
    pub platform: Option<String>,
    pub client_version: Option<String>,
    /// Space-separated scope names.
    pub requested_scopes: String,
    pub poll_interval: i64,
    /// `pending`, `approved`, `denied` or `issued`.
    pub status: String,
    pub expires_at: i64,
}

/// A flow about to be stored.
pub struct NewDeviceFlow<'a> {
    pub device_code_hash: &'a str,
    pub user_code_hash: &'a str,
    pub oauth_client_id: Option<&'a str>,
    pub client_device_identifier: &'a str,
    pub name: &'a str,
    pub client: &'a str,
    pub platform: Option<&'a str>,
    pub client_version: Option<&'a str>,
    pub requested_scopes: &'a str,
    pub poll_interval: i64,
    pub now: i64,
    pub expires_at: i64,
}

/// A person's approval, as written.
pub struct DeviceApprovalRow<'a> {
    pub user_code_hash: &'a str,
    pub user_id: i64,
    /// The id a new device row gets (an existing one keeps its own).
    pub new_device_id: &'a str,
    pub device_name: &'a str,
    pub scopes: &'a str,
    pub token_expires_at: Option<i64>,
    pub now: i64,
    /// The credential whose request approved (see `Minter`).
    pub minted_by: &'a Minter,
}

/// What an approval created or updated.
#[derive(Debug, Clone)]
pub struct ApprovedFlow {
    pub device_id: String,
    pub token_id: i64,
}

/// What approving a flow did.
#[derive(Debug, Clone)]
pub enum Approval {
    Approved(ApprovedFlow),
    /// The flow is no longer pending (decided, expired, gone).
    NotPending,
    /// The person already holds `max_tokens` client tokens: the flow stays
    /// pending, nothing was written.
    TokenLimit,
}

/// The client token one poll received.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IssuedDeviceToken {
    pub token_id: i64,
    pub device_id: Option<String>,
    pub scopes: String,
    pub expires_at: Option<i64>,
}

macro_rules! select_flow_where {
    ($condition:literal) => {
        concat!(
            "SELECT oauth_client_id, client_device_identifier, name, client, platform, client_version, ",
            "requested_scopes, poll_interval, status, expires_at FROM device_flows WHERE ",
            $condition,
            " AND expires_at > $2"
        )
    };
}
const SELECT_BY_USER_CODE: &str = select_flow_where!("user_code_hash = $1");
const SELECT_BY_DEVICE_CODE: &str = select_flow_where!("device_code_hash = $1");

const INSERT: &str = "INSERT INTO device_flows (device_code_hash, user_code_hash, oauth_client_id, \
    client_device_identifier, name, client, platform, client_version, requested_scopes, poll_interval, \
    status, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12)";
const DECIDE_APPROVED: &str = "UPDATE device_flows SET status = 'approved', user_id = $2 \
    WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $3 \
    RETURNING device_code_hash, client_device_identifier, client, platform, client_version";
/// One device per person and identifier: a second approval of the same
/// device renames it and keeps its id (RomM's behaviour).
const UPSERT_DEVICE: &str = "INSERT INTO devices (id, user_id, name, client, platform, client_version, \
    client_device_identifier, created_at, updated_at, last_seen_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8) \
    ON CONFLICT (user_id, client_device_identifier) DO UPDATE SET name = excluded.name, \
    client = excluded.client, platform = COALESCE(excluded.platform, devices.platform), \
    client_version = COALESCE(excluded.client_version, devices.client_version), \
    updated_at = excluded.updated_at, last_seen_at = excluded.last_seen_at \
    RETURNING id";
const INSERT_TOKEN: &str = "INSERT INTO client_tokens (user_id, device_id, name, token_hash, scopes, created_at, \
    expires_at, minted_by, minted_by_family) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8) RETURNING id";
const LINK_FLOW: &str = "UPDATE device_flows SET device_id = $2, token_id = $3 WHERE device_code_hash = $1";
const DECIDE_DENIED: &str = "UPDATE device_flows SET status = 'denied', user_id = $2 \
    WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $3";
/// Records a poll that kept the flow's interval; matches nothing when the
/// previous poll was too recent.
const POLL_IN_TIME: &str = "UPDATE device_flows SET last_poll_at = $2 WHERE device_code_hash = $1 \
    AND (last_poll_at IS NULL OR last_poll_at <= $2 - poll_interval)";
const POLL_TOO_FAST: &str = "UPDATE device_flows SET last_poll_at = $2 WHERE device_code_hash = $1";
const ISSUE_FLOW: &str = "UPDATE device_flows SET status = 'issued' \
    WHERE device_code_hash = $1 AND status = 'approved' AND expires_at > $2 RETURNING token_id";
const SET_TOKEN_SECRET: &str = "UPDATE client_tokens SET token_hash = $2 WHERE id = $1 AND token_hash IS NULL \
    RETURNING id AS token_id, device_id, scopes, expires_at";

/// The columns of `DECIDE_APPROVED`'s answer.
type DecidedRow = (String, String, String, Option<String>, Option<String>);

impl Store {
    /// Stores a new pending flow. `Conflict` when the user code's hash is
    /// taken (a collision of random codes: the caller draws again).
    pub async fn insert_device_flow(&self, flow: &NewDeviceFlow<'_>) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(INSERT)
            .bind(flow.device_code_hash)
            .bind(flow.user_code_hash)
            .bind(flow.oauth_client_id)
            .bind(flow.client_device_identifier)
            .bind(flow.name)
            .bind(flow.client)
            .bind(flow.platform)
            .bind(flow.client_version)
            .bind(flow.requested_scopes)
            .bind(flow.poll_interval)
            .bind(flow.now)
            .bind(flow.expires_at)
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(StoreError::from_write)
    }

    /// The unexpired flow whose user code has this hash, whatever its status.
    pub async fn find_device_flow_by_user_code(
        &self,
        user_code_hash: &str,
        now: i64,
    ) -> Result<Option<DeviceFlow>, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query_as(SELECT_BY_USER_CODE).bind(user_code_hash).bind(now).fetch_optional(p).await)?,
        )
    }

    /// The unexpired flow whose device code has this hash.
    pub async fn find_device_flow(&self, device_code_hash: &str, now: i64) -> Result<Option<DeviceFlow>, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query_as(SELECT_BY_DEVICE_CODE).bind(device_code_hash).bind(now).fetch_optional(p).await)?,
        )
    }

    /// Approves the pending flow: marks it approved, creates or updates the
    /// person's device and creates its client token without a secret, in
    /// one transaction, unless the person already holds `max_tokens` client
    /// tokens (counted under the same lock as `insert_client_token`, so the
    /// cap holds against both at once).
    pub async fn approve_device_flow(
        &self,
        approval: &DeviceApprovalRow<'_>,
        max_tokens: i64,
    ) -> Result<Approval, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let decided: Option<DecidedRow> = sqlx::query_as(DECIDE_APPROVED)
                .bind(approval.user_code_hash)
                .bind(approval.user_id)
                .bind(approval.now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((device_code_hash, identifier, client, platform, version)) = decided else {
                return Ok(Approval::NotPending);
            };
            // Over the cap, the transaction is dropped: the decision above
            // is rolled back and the flow stays pending.
            let held = count_under_owner_lock!(tx, approval.user_id, COUNT_OF_USER);
            if held >= max_tokens {
                return Ok(Approval::TokenLimit);
            }
            let (minted_by, minted_by_family) = lineage_of!(tx, approval.minted_by)?;
            let device_id: String = sqlx::query_scalar(UPSERT_DEVICE)
                .bind(approval.new_device_id)
                .bind(approval.user_id)
                .bind(approval.device_name)
                .bind(&client)
                .bind(platform.as_deref())
                .bind(version.as_deref())
                .bind(&identifier)
                .bind(approval.now)
                .fetch_one(&mut *tx)
                .await?;
            let token_id: i64 = sqlx::query_scalar(INSERT_TOKEN)
                .bind(approval.user_id)
                .bind(&device_id)
                .bind(approval.device_name)
                .bind(approval.scopes)
                .bind(approval.now)
                .bind(approval.token_expires_at)
                .bind(minted_by)
                .bind(minted_by_family)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::minting_write)?;
            sqlx::query(LINK_FLOW)
                .bind(&device_code_hash)
                .bind(&device_id)
                .bind(token_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Approval::Approved(ApprovedFlow { device_id, token_id }))
        })
    }

    /// Denies the pending flow; `false` when it is no longer pending.
    pub async fn deny_device_flow(&self, user_code_hash: &str, user_id: i64, now: i64) -> Result<bool, StoreError> {
        let denied = on_pool!(self, p => sqlx::query(DECIDE_DENIED)
            .bind(user_code_hash)
            .bind(user_id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(denied > 0)
    }

    /// Records a poll at `now`; `false` when it came sooner than the flow's
    /// interval after the previous one (recorded too, as RomM does).
    pub async fn record_device_poll(&self, device_code_hash: &str, now: i64) -> Result<bool, StoreError> {
        let in_time = on_pool!(self, p => sqlx::query(POLL_IN_TIME)
            .bind(device_code_hash)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if in_time > 0 {
            return Ok(true);
        }
        on_pool!(self, p => sqlx::query(POLL_TOO_FAST).bind(device_code_hash).bind(now).execute(p).await.map(|_| ()))?;
        Ok(false)
    }

    /// Moves the approved flow to issued and gives its client token the
    /// secret `token_hash`, in one transaction. `None` for every poll but
    /// the one that made the move (and when the flow is not approved).
    pub async fn issue_device_token(
        &self,
        device_code_hash: &str,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<IssuedDeviceToken>, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            // Owner first, then the flow and its token, in the order every
            // revocation locks them (a token's deletion cascades to its
            // flows): the other order could deadlock with an app's logout.
            sqlx::query(LOCK_FLOW_OWNER).bind(device_code_hash).execute(&mut *tx).await?;
            let token_id: Option<Option<i64>> = sqlx::query_scalar(ISSUE_FLOW)
                .bind(device_code_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(Some(token_id)) = token_id else {
                return Ok(None);
            };
            let issued: Option<IssuedDeviceToken> = sqlx::query_as(SET_TOKEN_SECRET)
                .bind(token_id)
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            if issued.is_some() {
                tx.commit().await?;
            }
            Ok(issued)
        })
    }
}
