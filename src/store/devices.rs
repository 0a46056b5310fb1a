//! Devices (SPEC 8.4): the handhelds, TV apps and plugins a person signed
//! in. Deleting a device deletes every client token bound to it (the
//! schema's `ON DELETE CASCADE`), so its credentials stop at once.

use super::users::LOCK_OWNER;
use super::{Store, StoreError, on_pool};

/// A device as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Device {
    pub id: String,
    pub user_id: i64,
    pub name: String,
    pub client: Option<String>,
    pub platform: Option<String>,
    pub client_version: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seen_at: Option<i64>,
}

/// A device about to be stored (by a device sign-in).
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: String,
    pub user_id: i64,
    pub name: String,
    pub client: Option<String>,
    pub platform: Option<String>,
    pub client_version: Option<String>,
    pub client_device_identifier: String,
}

macro_rules! device_columns {
    () => {
        "id, user_id, name, client, platform, client_version, created_at, updated_at, last_seen_at"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO devices (id, user_id, name, client, platform, client_version, client_device_identifier, ",
    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
    device_columns!()
);
const SELECT_OF_USER: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices WHERE user_id = $1 ORDER BY created_at DESC, id"
);
const DELETE_ONE: &str = "DELETE FROM devices WHERE id = $1 AND user_id = $2";

impl Store {
    pub async fn insert_device(&self, device: &NewDevice, now: i64) -> Result<Device, StoreError> {
        on_pool!(self, p => sqlx::query_as(INSERT)
            .bind(&device.id)
            .bind(device.user_id)
            .bind(&device.name)
            .bind(device.client.as_deref())
            .bind(device.platform.as_deref())
            .bind(device.client_version.as_deref())
            .bind(&device.client_device_identifier)
            .bind(now)
            .fetch_one(p)
            .await)
        .map_err(StoreError::from_write)
    }

    /// User `user_id`'s devices, newest first.
    pub async fn devices_of(&self, user_id: i64) -> Result<Vec<Device>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_OF_USER).bind(user_id).fetch_all(p).await)?)
    }

    /// Deletes `user_id`'s device `id` and, by the schema's cascade, every
    /// client token bound to it. True when it existed.
    pub async fn delete_device(&self, id: &str, user_id: i64) -> Result<bool, StoreError> {
        // The owner's lock first, as every revocation takes it (the delete
        // cascades to the device's tokens and their flows).
        let deleted = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(LOCK_OWNER).bind(user_id).execute(&mut *tx).await?;
            let deleted = sqlx::query(DELETE_ONE).bind(id).bind(user_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(deleted)
        })?;
        Ok(deleted > 0)
    }
}
