//! The password check: one answer for a wrong password and an unknown user
//! (same status, same body, one hash computed either way), rate-limited per
//! client address and per username (counted before the hash is computed,
//! see `login_limits`), and refused outright when password login is
//! disabled.

use tracing::instrument;

use super::Auth;
use super::login_limits::LoginAttempt;
use super::password::Verdict;
use crate::error::{AppError, AppResult, Code};
use crate::secret::Secret;
use crate::store::User;

/// Longest username or password looked at; longer ones are simply wrong.
const MAX_CREDENTIAL_BYTES: usize = 1024;
/// Longest username written to the log for a failed login.
const MAX_LOGGED_USERNAME_CHARS: usize = 64;

impl Auth {
    /// Refuses password login when DISABLE_USERPASS_LOGIN is set.
    pub fn ensure_password_login_enabled(&self) -> AppResult<()> {
        if self.settings.disable_userpass_login {
            return Err(AppError::forbidden(
                Code::PasswordLoginDisabled,
                "Password login is disabled on this server. Sign in with your identity provider instead.",
            )
            .hint("DISABLE_USERPASS_LOGIN=true turns off password login; unset it to allow passwords."));
        }
        Ok(())
    }

    /// Returns the user whose username and password these are.
    #[instrument(skip_all)]
    pub async fn check_password(&self, username: &str, password: &Secret, client: &str, now: i64) -> AppResult<User> {
        self.ensure_password_login_enabled()?;
        let attempt = LoginAttempt::new(username, client);
        let slots = self.take_login_slots(&attempt, now).await?;

        let plausible = !username.is_empty() && username.len() <= MAX_CREDENTIAL_BYTES;
        let found = if plausible {
            self.store.find_user_with_hash(username).await?
        } else {
            None
        };
        let stored = found.as_ref().and_then(|f| f.password_hash.as_deref());
        let verdict = if password.expose().len() <= MAX_CREDENTIAL_BYTES {
            self.passwords.verify(password, stored).await?
        } else {
            self.passwords.verify(&Secret::new(""), None).await?
        };

        let (Verdict::Match { rehash }, Some(found)) = (verdict, found) else {
            // The name tried, shortened (a password typed into the username
            // field is cut, and never a whole one of any length).
            let tried: String = username.chars().take(MAX_LOGGED_USERNAME_CHARS).collect();
            tracing::info!(username = %tried, client, "failed password login");
            return Err(AppError::invalid_credentials());
        };
        self.settle_login_success(&attempt, slots, now).await?;
        if !found.user.enabled {
            return Err(account_disabled());
        }
        if rehash {
            let upgraded = self.passwords.hash(password).await?;
            self.store.set_password_hash(found.user.id, &upgraded, now).await?;
            tracing::info!(
                user_id = found.user.id,
                "password hash upgraded to current argon2id parameters"
            );
        }
        Ok(found.user)
    }
}

pub fn account_disabled() -> AppError {
    AppError::forbidden(
        Code::AccountDisabled,
        "This account is disabled. Ask an administrator to enable it.",
    )
}
