//! Download links (issue 15): for clients that cannot send an
//! Authorization header (console installers, emulator front-ends, a QR
//! code on a handheld), a signed-in person with roms.read asks for a link
//! to one ROM's file; the link alone then downloads it.
//!
//! Guarantees: the link's secret is 32 random bytes, stored only as a keyed
//! hash; it opens that one ROM and nothing else (no session, no other
//! endpoint); it expires (ROMGATE_DOWNLOAD_LINK_SECONDS, 15 minutes unless
//! set, at most a day); it dies with its owner's sessions (a password
//! change, a disable, "sign out everywhere": the store deletes links in the
//! same transaction as the sessions) and with the owner; and each use checks
//! the owner as stored now: enabled, and a role that still reads ROMs.
//! Every refusal is the same answer, so a link cannot be probed for why.
//! Each person asks for at most `LINKS_PER_PERSON` links a minute: every
//! link is a row until it expires, and a script must not fill the table.

use std::fmt;

use super::rate_limit::RateLimitPolicy;
use super::tokens::{PlainToken, TokenKind};
use super::{Auth, Principal, Scope};
use crate::error::{AppError, AppResult, Code, Kind};

/// Links one person may ask for in a minute: far more than anyone clicks,
/// far fewer than a loop makes.
pub const LINKS_PER_PERSON: RateLimitPolicy = RateLimitPolicy {
    name: "download-links-person",
    max_events: 120,
    window_seconds: 60,
    message: "Too many download links were asked for in a minute. Wait a minute and try again.",
};

/// A link just made. Its `Debug` is redacted.
pub struct IssuedDownloadLink {
    pub token: PlainToken,
    pub expires_at: i64,
}

impl fmt::Debug for IssuedDownloadLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedDownloadLink")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// A link to ROM `rom_id` for `actor` (needs roms.read). The caller
    /// checks that the ROM exists and is one file.
    pub async fn issue_download_link(&self, actor: &Principal, rom_id: i64, now: i64) -> AppResult<IssuedDownloadLink> {
        actor.require(&[Scope::RomsRead])?;
        LINKS_PER_PERSON
            .count(&self.store, &format!("user:{}", actor.user.id), now)
            .await?;
        let token = PlainToken::generate(TokenKind::DownloadLink);
        let hash = self
            .tokens
            .hash(TokenKind::DownloadLink, token.expose())
            .ok_or_else(|| AppError::internal("a new download link has no hash"))?;
        let expires_at = now.saturating_add(self.settings.download_link_seconds);
        self.store
            .insert_download_link(
                &hash,
                actor.user.id,
                rom_id,
                now,
                expires_at,
                actor.credential.client_token_id(),
            )
            .await?;
        tracing::info!(user_id = actor.user.id, rom_id, expires_at, "download link issued");
        Ok(IssuedDownloadLink { token, expires_at })
    }

    /// Whether `token` opens ROM `rom_id` now; one refusal for every reason.
    pub async fn check_download_link(&self, token: &str, rom_id: i64, now: i64) -> AppResult<()> {
        let Some(hash) = self.tokens.hash(TokenKind::DownloadLink, token) else {
            return Err(invalid_link());
        };
        let Some(link) = self.store.find_download_link(&hash, now).await? else {
            return Err(invalid_link());
        };
        let owner_may_read = link.user.enabled && link.user.role.scopes().contains(Scope::RomsRead);
        if link.rom_id != rom_id || !owner_may_read {
            return Err(invalid_link());
        }
        Ok(())
    }
}

fn invalid_link() -> AppError {
    AppError::refuse(
        Kind::Unauthenticated,
        Code::InvalidDownloadLink,
        "This download link is not valid: it expired, was revoked, or is for another file.",
    )
    .hint("Ask romgate for a new link (POST /api/roms/{id}/download-link) while signed in.")
}
