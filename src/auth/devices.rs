//! Devices (SPEC 8.4): the ones a person signed in, listed and revoked by
//! their owner. Revoking a device deletes every client token bound to it
//! (RomM forgets to), so the device is refused on its very next call.

use super::principal::Principal;
use super::{Auth, Scope};
use crate::error::{AppError, AppResult};
use crate::store::Device;

impl Auth {
    /// `actor`'s devices, newest first (devices.read, as in RomM).
    pub async fn list_own_devices(&self, actor: &Principal) -> AppResult<Vec<Device>> {
        actor.require(&[Scope::DevicesRead])?;
        Ok(self.store.devices_of(actor.user.id).await?)
    }

    /// Deletes `actor`'s device `id` and every token bound to it
    /// (devices.write); someone else's or an unknown one is 404.
    pub async fn revoke_own_device(&self, actor: &Principal, id: &str) -> AppResult<()> {
        actor.require(&[Scope::DevicesWrite])?;
        if self.store.delete_device(id, actor.user.id).await? {
            Ok(())
        } else {
            Err(AppError::not_found("Device not found."))
        }
    }
}
