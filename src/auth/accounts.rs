//! Creating, changing and deleting accounts, and the first-boot setup.
//! Changing a password, disabling or deleting a user ends all of that user's
//! sessions and tokens.
//!
//! Email trust (SPEC 9): an email set by an administrator (another
//! account's, or any account created through the API, the CLI or the setup
//! wizard) is trusted; one a person sets for themselves is not, so nobody
//! can claim an address to inherit a single sign-on identity. Changing
//! one's own password, email or username needs proof (`reauth`).

use super::reauth::Proof;
use super::{Auth, Principal, Role, Scope};
use crate::error::{AppError, AppResult, Code};
use crate::secret::Secret;
use crate::store::{NewUser, User, UserChanges, fold};

pub const MAX_USERNAME_CHARS: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A new account as requested by a client.
#[derive(Debug, Default)]
pub struct NewAccount {
    pub username: String,
    pub email: Option<String>,
    /// `None`: no usable password (single sign-on only).
    pub password: Option<Secret>,
    pub role: Role,
}

/// A requested change; `None` leaves a field alone.
#[derive(Debug, Default)]
pub struct AccountChanges {
    pub username: Option<String>,
    pub email: Option<Option<String>>,
    pub password: Option<Secret>,
    pub role: Option<Role>,
    pub enabled: Option<bool>,
}

/// Usernames: 1 to 64 of `A-Z a-z 0-9 . _ - @ +`. ASCII only, so no two
/// accounts can look alike.
pub fn validate_username(username: &str) -> AppResult<()> {
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c));
    if username.is_empty() || username.chars().count() > MAX_USERNAME_CHARS || !ok_chars {
        return Err(AppError::bad_request(
            Code::InvalidUsername,
            format!("A username has 1 to {MAX_USERNAME_CHARS} characters: letters a-z, digits, and . _ - @ +"),
        ));
    }
    Ok(())
}

/// A plausible address: one `@`, something on both sides, a dot in the
/// domain, no spaces or control characters, at most 254 characters.
pub fn validate_email(email: &str) -> AppResult<()> {
    let invalid = || AppError::bad_request(Code::InvalidEmail, "That is not a valid email address.");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid());
    };
    let domain_ok = domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@');
    if local.is_empty() || !domain_ok {
        return Err(invalid());
    }
    Ok(())
}

pub fn validate_password(password: &Secret) -> AppResult<()> {
    let text = password.expose();
    if text.chars().count() < MIN_PASSWORD_CHARS || text.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::bad_request(
            Code::InvalidPassword,
            format!(
                "A password needs at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)."
            ),
        ));
    }
    Ok(())
}

fn normalise_email(email: Option<String>) -> AppResult<Option<String>> {
    let email = email.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
    if let Some(email) = &email {
        validate_email(email)?;
    }
    Ok(email)
}

/// `changes` with every value validated and the email normalised.
fn checked(mut changes: AccountChanges) -> AppResult<AccountChanges> {
    if let Some(username) = &changes.username {
        validate_username(username)?;
    }
    if let Some(email) = changes.email.take() {
        changes.email = Some(normalise_email(email)?);
    }
    if let Some(password) = &changes.password {
        validate_password(password)?;
    }
    Ok(changes)
}

/// Whether `changes` (checked) touch what signs `user` in: the password,
/// the username, or the email (which can link a single sign-on). Setting a
/// value the account already has changes nothing, so needs no proof.
fn changes_sign_in_details(changes: &AccountChanges, user: &User) -> bool {
    let username = changes.username.as_ref().is_some_and(|name| *name != user.username);
    let email = changes
        .email
        .as_ref()
        .is_some_and(|email| !same_email(email.as_deref(), user.email.as_deref()));
    changes.password.is_some() || username || email
}

/// The same address, or both none: equal but for ASCII letter case, as
/// single sign-on compares them (`oidc::identity`).
fn same_email(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    }
}

/// A person's own new email that only looks like the current one: equal
/// under Unicode case folding (the unique key), not under ASCII case (U+212A
/// KELVIN SIGN for `k`). The database would keep the old address's trust
/// for it, so it is refused; an administrator can set it.
fn look_alike_email(changes: &AccountChanges, user: &User) -> bool {
    match (changes.email.as_ref(), user.email.as_deref()) {
        (Some(Some(new)), Some(old)) => fold(new) == fold(old) && !new.eq_ignore_ascii_case(old),
        _ => false,
    }
}

impl Auth {
    async fn new_user(&self, account: NewAccount, enabled: bool) -> AppResult<NewUser> {
        validate_username(&account.username)?;
        let email = normalise_email(account.email)?;
        let password_hash = match &account.password {
            Some(password) => {
                validate_password(password)?;
                Some(self.passwords.hash(password).await?)
            }
            None => None,
        };
        Ok(NewUser {
            username: account.username,
            email,
            // Every way to create an account is an administrator's: the
            // users API (users.write), the CLI, the setup wizard.
            email_trusted: true,
            password_hash,
            role: account.role,
            enabled,
        })
    }

    /// `POST /api/users` without credentials: creates the first
    /// administrator, only while none exists and the wizard is enabled.
    pub async fn create_first_admin(&self, mut account: NewAccount, now: i64) -> AppResult<User> {
        if !self.setup_needed().await? {
            return Err(AppError::unauthenticated());
        }
        if self.settings.disable_setup_wizard {
            return Err(AppError::forbidden(Code::SetupDisabled, "The setup wizard is disabled on this server.")
                .hint("DISABLE_SETUP_WIZARD=true: create the first admin with `romgate user create NAME --role admin --password-stdin`."));
        }
        account.role = Role::Admin;
        if self.settings.disable_userpass_login && account.email.is_none() {
            return Err(AppError::bad_request(
                Code::EmailRequired,
                "Password login is disabled, so the first admin needs an email address to be linked to your identity provider.",
            ));
        }
        let new_user = self.new_user(account, true).await?;
        match self.store.insert_first_admin(&new_user, now).await? {
            Some(user) => {
                tracing::info!(user_id = user.id, "first administrator created by the setup wizard");
                Ok(user)
            }
            None => Err(AppError::conflict(
                Code::SetupDone,
                "An administrator already exists; sign in instead.",
            )),
        }
    }

    /// Creates an account on behalf of `actor` (who needs users.write).
    pub async fn create_account(&self, actor: &Principal, account: NewAccount, now: i64) -> AppResult<User> {
        actor.require(&[Scope::UsersWrite])?;
        if account.role == Role::Admin && actor.user.role != Role::Admin {
            return Err(AppError::forbidden(
                Code::AdminOnly,
                "Only an administrator can create administrators.",
            ));
        }
        let new_user = self.new_user(account, true).await?;
        Ok(self.store.insert_user(&new_user, now).await?)
    }

    /// Creates an account from the admin CLI (no actor, no setup rule).
    pub async fn create_account_unchecked(&self, account: NewAccount, now: i64) -> AppResult<User> {
        let new_user = self.new_user(account, true).await?;
        Ok(self.store.insert_user(&new_user, now).await?)
    }

    /// Changes user `id` with no proof offered: enough for administrators
    /// changing other accounts, and for roles and enabling (the users page).
    /// A person's own password, email or username needs
    /// `update_account_with_proof`.
    pub async fn update_account(
        &self,
        actor: &Principal,
        id: i64,
        changes: AccountChanges,
        now: i64,
    ) -> AppResult<User> {
        self.update_account_with_proof(actor, id, changes, &Proof::default(), now)
            .await
    }

    /// Changes user `id`. An administrator (users.write) may change anything;
    /// a user (me.write) may change their own username, email and password.
    /// Changing one's own password, email or username (administrators
    /// included) needs `proof` (SPEC 9), and an email a person sets for
    /// themselves is not trusted; one an administrator sets for someone
    /// else is.
    pub async fn update_account_with_proof(
        &self,
        actor: &Principal,
        id: i64,
        changes: AccountChanges,
        proof: &Proof,
        now: i64,
    ) -> AppResult<User> {
        let is_self = actor.user.id == id;
        let admin_fields = changes.role.is_some() || changes.enabled.is_some();
        if !actor.has(Scope::UsersWrite) {
            if !is_self {
                actor.require(&[Scope::UsersWrite])?;
            }
            actor.require(&[Scope::MeWrite])?;
            if admin_fields {
                return Err(AppError::forbidden(
                    Code::AdminOnly,
                    "Only an administrator can change roles or enable and disable accounts.",
                ));
            }
        }
        let changes = checked(changes)?;
        if is_self && look_alike_email(&changes, &actor.user) {
            return Err(AppError::bad_request(
                Code::InvalidEmail,
                "That address only looks like your current one: some of its letters are other characters. Type it with plain letters.",
            ));
        }
        if is_self && changes_sign_in_details(&changes, &actor.user) {
            self.check_proof(actor, proof, now).await?;
        }
        self.write_changes(id, changes, !is_self, now).await
    }

    /// Applies changes without an actor check (the CLI, whose emails are
    /// trusted: whoever runs it administers the server).
    pub async fn apply_changes(&self, id: i64, changes: AccountChanges, now: i64) -> AppResult<User> {
        let changes = checked(changes)?;
        self.write_changes(id, changes, true, now).await
    }

    /// Writes checked changes; `email_trusted` says whether whoever set the
    /// email vouches for it.
    async fn write_changes(&self, id: i64, changes: AccountChanges, email_trusted: bool, now: i64) -> AppResult<User> {
        let new_hash = match &changes.password {
            Some(password) => Some(self.passwords.hash(password).await?),
            None => None,
        };
        let store_changes = UserChanges {
            username: changes.username,
            email: changes.email,
            email_trusted,
            role: changes.role,
            enabled: changes.enabled,
        };
        let user = self
            .store
            .update_user(id, &store_changes, now)
            .await?
            .ok_or_else(|| AppError::not_found("No such user."))?;
        if let Some(hash) = new_hash {
            self.store.set_password_hash(id, &hash, now).await?;
            self.reset_login_limits_for_new_password(&user.username).await?;
        }
        if changes.password.is_some() || changes.enabled == Some(false) {
            self.store.revoke_user_credentials(id).await?;
        }
        Ok(user)
    }

    /// Removes the single sign-on identities linked to user `id` (the
    /// command line's `user unlink`): the next sign-in through the provider
    /// links the account again, by its verified email. How many there were.
    pub async fn unlink_identities(&self, id: i64) -> AppResult<u64> {
        let removed = self.store.delete_links(id).await?;
        tracing::info!(user_id = id, removed, "single sign-on identities unlinked");
        Ok(removed)
    }

    /// Deletes user `id` (needs users.write); their sessions, tokens and
    /// identity links go with them.
    pub async fn delete_account(&self, actor: &Principal, id: i64) -> AppResult<()> {
        actor.require(&[Scope::UsersWrite])?;
        if !self.store.delete_user(id).await? {
            return Err(AppError::not_found("No such user."));
        }
        tracing::info!(user_id = id, by = actor.user.id, "user deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_short_and_plain() {
        for ok in ["admin", "jane.doe", "j_d-1", "jane@example.com", "a+b"] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(1000);
        for bad in [
            "",
            "robert'); DROP TABLE users;--",
            "josé",
            "аdmin",
            "a b",
            "tab\tname",
            "nul\0",
            long.as_str(),
        ] {
            assert!(validate_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_must_look_like_addresses() {
        for ok in ["a@example.com", "first.last+tag@sub.example.org"] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@b@example.com",
            "a@.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(validate_password(&Secret::new("1234567")).is_err());
        assert!(validate_password(&Secret::new("12345678")).is_ok());
        assert!(validate_password(&Secret::new("x".repeat(2000))).is_err());
    }
}
