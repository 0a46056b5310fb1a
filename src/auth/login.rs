//! The password check: one answer for a wrong password and an unknown user
//! (same status, same body, one hash computed either way), rate-limited per
//! client address and per username (counted before the hash is computed,
//! see `login_limits`), and refused outright when password login is
//! disabled. Every check, passed or refused, is one line of the sign-in log
//! (`sign_in_log`), never with the password.

use tracing::instrument;

use super::Auth;
use super::login_limits::LoginAttempt;
use super::password::Verdict;
use super::sign_in_log::{self, Method};
use crate::error::{AppError, AppResult, Code};
use crate::secret::Secret;
use crate::store::User;

/// Longest username or password looked at; longer ones are simply wrong.
const MAX_CREDENTIAL_BYTES: usize = 1024;

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

    /// Returns the user whose username and password these are, and writes
    /// the attempt to the sign-in log as a sign-in by `method` (every
    /// refusal too: a wrong password, a disabled account, a limit, password
    /// login turned off).
    pub async fn check_password(
        &self,
        method: Method,
        username: &str,
        password: &Secret,
        client: &str,
        now: i64,
    ) -> AppResult<User> {
        self.password_sign_in(method, username, password, client, now)
            .await
            .map(|checked| checked.user)
    }

    /// `check_password`, with the password hash stored once it passed.
    pub(super) async fn password_sign_in(
        &self,
        method: Method,
        username: &str,
        password: &Secret,
        client: &str,
        now: i64,
    ) -> AppResult<PasswordChecked> {
        let checked = self
            .password_check_any_account(method, username, password, client, now)
            .await?;
        if !checked.user.enabled {
            return Err(account_disabled());
        }
        Ok(checked)
    }

    /// `password_sign_in`, but a disabled account's right password comes
    /// back too (`user.enabled` false; logged as refused): HTTP Basic
    /// remembers it, so an app retrying it on every call costs no hash and
    /// uses up no limit (a right password is no guess; counting it would
    /// lock everyone behind that address out). The caller refuses it.
    pub(super) async fn password_check_any_account(
        &self,
        method: Method,
        username: &str,
        password: &Secret,
        client: &str,
        now: i64,
    ) -> AppResult<PasswordChecked> {
        let result = self.verify_password(username, password, client, now).await;
        match &result {
            Ok(checked) if checked.user.enabled => sign_in_log::succeeded(method, &checked.user.username, client),
            Ok(_) => sign_in_log::failed(method, username, client, Code::AccountDisabled),
            Err(err) => {
                if let Some(code) = err.code() {
                    sign_in_log::failed(method, username, client, code);
                }
            }
        }
        result
    }

    #[instrument(skip_all)]
    async fn verify_password(
        &self,
        username: &str,
        password: &Secret,
        client: &str,
        now: i64,
    ) -> AppResult<PasswordChecked> {
        self.ensure_password_login_enabled()?;
        let attempt = LoginAttempt::new(username, client);
        let slots = self.take_login_slots(&attempt, now).await?;

        // No username holds a control character; a NUL would be an error
        // on PostgreSQL, not a wrong password.
        let plausible =
            !username.is_empty() && username.len() <= MAX_CREDENTIAL_BYTES && !username.chars().any(char::is_control);
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
            return Err(AppError::invalid_credentials());
        };
        self.settle_login_success(&attempt, slots, now).await?;
        let hash = found.password_hash.unwrap_or_default();
        let hash = if rehash && found.user.enabled {
            self.upgrade_hash(&found.user, username, password, hash, now).await?
        } else {
            hash
        };
        Ok(PasswordChecked { user: found.user, hash })
    }

    /// Replaces `old`, an imported or outdated hash the password matched,
    /// with a current argon2id one: the hash stored afterwards. Only while
    /// `old` is still stored: a password changed meanwhile is never
    /// written back. When another sign-in upgraded it first, the password
    /// is checked against the hash stored now instead.
    async fn upgrade_hash(
        &self,
        user: &User,
        username: &str,
        password: &Secret,
        old: String,
        now: i64,
    ) -> AppResult<String> {
        let new = self.passwords.hash(password).await?;
        if self.store.replace_password_hash(user.id, &old, &new, now).await? {
            tracing::info!(
                user_id = user.id,
                "password hash upgraded to current argon2id parameters"
            );
            return Ok(new);
        }
        let stored = self.store.find_user_with_hash(username).await?;
        let stored = stored.filter(|f| f.user.id == user.id).and_then(|f| f.password_hash);
        match self.passwords.verify(password, stored.as_deref()).await? {
            Verdict::Match { .. } => Ok(stored.unwrap_or_default()),
            Verdict::Mismatch => Err(AppError::invalid_credentials()),
        }
    }
}

/// Writes the failure of a sign-in whose password passed but whose session
/// or tokens were not written because the password changed (or the account
/// was disabled) meanwhile: the sign-in log then ends with what the client
/// got, a refusal.
pub(super) fn log_if_stale<T>(method: Method, username: &str, client: &str, result: &AppResult<T>) {
    if let Err(err) = result
        && err.code() == Some(Code::InvalidCredentials)
    {
        sign_in_log::failed(method, username, client, Code::InvalidCredentials);
    }
}

/// A password that passed: its account, and the hash stored for it now
/// (after an upgrade, the new one).
pub(super) struct PasswordChecked {
    pub user: User,
    pub hash: String,
}

pub fn account_disabled() -> AppError {
    AppError::forbidden(
        Code::AccountDisabled,
        "This account is disabled. Ask an administrator to enable it.",
    )
}
