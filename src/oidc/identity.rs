//! Who is this? An identity link (issuer, subject) first; else an existing
//! account with the same email, only when the provider vouches for the
//! email AND romgate trusts the account's email (SPEC 9: set by an
//! administrator, the CLI or the setup wizard, or proven by a provider;
//! never one a person set for themselves); else a new account when
//! registration is open. An account whose email matches but is not trusted
//! is refused, never taken over. The role from the claims is applied on
//! every sign-in, demotion included. Nothing is stored when the answer is a
//! refusal, except that a verified provider email equal to the account's
//! makes that email trusted.

use super::Oidc;
use super::roles::{RoleDecision, map_roles};
use super::verify::Verified;
use crate::auth::Role;
use crate::auth::accounts::validate_username;
use crate::error::{AppError, AppResult, Code, Kind};
use crate::store::{LinkOutcome, NewUser, Store, StoreError, Unique, User, UserChanges};

fn refuse(code: Code, message: String, hint: String) -> AppError {
    AppError::refuse(Kind::Forbidden, code, message).hint(hint)
}

/// Resolves the person to an account, and logs who arrived (subject, the
/// username claim, the roles claim's values; never a token) with the
/// outcome, so an administrator can see why someone was refused.
pub(super) async fn resolve(oidc: &Oidc, verified: &Verified, now: i64) -> AppResult<User> {
    let result = resolve_account(oidc, verified, now).await;
    let config = &oidc.config;
    let subject = clip(&verified.subject, 255);
    let username = verified
        .claims
        .text(&config.username_attribute)
        .map_or_else(|| "(absent)".to_string(), |name| clip(&name, 64));
    let roles = match config.claim_roles.as_deref() {
        Some(path) => roles_for_log(verified.claims.get(path)),
        None => "(OIDC_CLAIM_ROLES not set)".to_string(),
    };
    let claim = config.username_attribute.as_str();
    match &result {
        Ok(user) => tracing::info!(
            user_id = user.id,
            %subject,
            %claim,
            %username,
            %roles,
            "single sign-on identity accepted"
        ),
        Err(AppError::Refused(refusal)) => tracing::info!(
            code = refusal.code.as_str(),
            %subject,
            %claim,
            %username,
            %roles,
            "single sign-on refused this identity"
        ),
        Err(AppError::Internal(_)) => {}
    }
    result
}

/// At most `max` characters of `text`.
fn clip(text: &str, max: usize) -> String {
    let mut clipped: String = text.chars().take(max).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    clipped
}

/// Most values of the roles claim shown in a log line (10,000 groups fit
/// in a sign-in, not in a line).
const LOGGED_ROLES: usize = 20;

/// The roles claim's values for a log line: `[a, b] (+3 more)`.
fn roles_for_log(claim: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    let text = |value: &Value| match value {
        Value::String(s) => clip(s, 64),
        other => clip(&other.to_string(), 64),
    };
    match claim {
        None => "(claim absent)".to_string(),
        Some(Value::Array(values)) => {
            let shown: Vec<String> = values.iter().take(LOGGED_ROLES).map(text).collect();
            let more = values.len().saturating_sub(LOGGED_ROLES);
            let more = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            format!("[{}]{more}", shown.join(", "))
        }
        Some(value) => text(value),
    }
}

async fn resolve_account(oidc: &Oidc, verified: &Verified, now: i64) -> AppResult<User> {
    let config = &oidc.config;
    let store = &oidc.store;
    let decision = match config.claim_roles.as_deref() {
        Some(path) => map_roles(verified.claims.get(path), &oidc.role_mapping()),
        None => RoleDecision::ClaimAbsent,
    };
    if decision == RoleDecision::NoMatch {
        return Err(refuse(
            Code::NoRole,
            "Your account at the identity provider has no role for this application.".into(),
            format!(
                "The claim {} matched none of OIDC_ROLE_VIEWER, OIDC_ROLE_EDITOR, OIDC_ROLE_ADMIN (OIDC_ROLE_VIEWER=* admits everyone).",
                config.claim_roles.as_deref().unwrap_or_default()
            ),
        ));
    }
    let (issuer, subject) = (verified.issuer.as_str(), verified.subject.as_str());
    let user = match store.find_linked_user(issuer, subject).await? {
        Some(user) => user,
        None => match link_by_email(store, verified, now).await? {
            Some(user) => user,
            None => register(oidc, verified, decision, now).await?,
        },
    };
    // Before anything is written: a refusal stores nothing.
    if !user.enabled {
        return Err(crate::auth::account_disabled());
    }
    let user = apply_role(store, user, decision, now).await?;
    store.touch_link(issuer, subject, now).await?;
    prove_email(store, &user, verified).await?;
    Ok(user)
}

/// The provider verified the email the account has: romgate trusts it from
/// now on (a person who changed their own email earns the trust back).
async fn prove_email(store: &Store, user: &User, verified: &Verified) -> AppResult<()> {
    let (Some(provider_email), Some(own)) = (verified.claims.email(), user.email.as_deref()) else {
        return Ok(());
    };
    if !same_address(&provider_email, own) || !verified.claims.email_is_trusted(verified.email_verified_advertised) {
        return Ok(());
    }
    if store.trust_email(user.id, own).await? {
        tracing::info!(user_id = user.id, "email trusted: verified by the identity provider");
    }
    Ok(())
}

/// Links an existing account by email when both sides are trusted: the
/// provider verified the email, and romgate trusts the account's.
async fn link_by_email(store: &Store, verified: &Verified, now: i64) -> AppResult<Option<User>> {
    let Some(email) = verified.claims.email() else {
        return Ok(None);
    };
    let Some(found) = store.find_user_by_email_with_trust(&email).await? else {
        return Ok(None);
    };
    if !verified.claims.email_is_trusted(verified.email_verified_advertised) {
        return Err(unverified_email());
    }
    let user = found.user;
    if !user.email.as_deref().is_some_and(|own| same_address(own, &email)) {
        // The stored key folds Unicode case, so a different address can
        // share it (K and the Kelvin sign): never a reason to link.
        tracing::warn!(
            user_id = user.id,
            "single sign-on not linked: an account's email matches only under Unicode case folding"
        );
        return Err(taken(Unique::Email, ""));
    }
    if !found.email_trusted {
        // Registering instead would collide with this email; linking would
        // hand the account (and its role) to whoever holds the address.
        tracing::warn!(
            user_id = user.id,
            "single sign-on not linked: an account has this email, but its email is not trusted"
        );
        return Err(untrusted_account_email());
    }
    if !user.enabled {
        return Err(crate::auth::account_disabled());
    }
    let linked = store
        .link_by_email(&verified.issuer, &verified.subject, user.id, now)
        .await?;
    if linked == LinkOutcome::OtherSubject {
        // Another subject at this provider holds the account: an address
        // given to someone new must not hand them the old owner's account.
        tracing::warn!(
            user_id = user.id,
            "single sign-on not linked: the account with this email is linked to another subject at this provider"
        );
        return Err(linked_to_another_identity());
    }
    tracing::info!(
        user_id = user.id,
        "identity linked to an existing account by verified email"
    );
    Ok(Some(user))
}

/// Whether two email addresses are the same address: equal but for ASCII
/// letter case (domains are case-insensitive, and providers and people
/// vary the case). Unicode case folding is not used: it maps other
/// characters onto ASCII letters (U+212A KELVIN SIGN onto `k`), so an
/// address someone else controls could match.
fn same_address(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn untrusted_account_email() -> AppError {
    refuse(
        Code::EmailNotTrusted,
        "An account here already uses your email address, but it was not confirmed, so you were not signed in to it. Ask an administrator to link the account to you.".into(),
        "The account's email was set by its owner (or before romgate kept email trust), so it cannot link a single sign-on. If the account belongs to this person, set its email again as an administrator (PUT /api/users/{id} with users.write, or `romgate user set-email NAME EMAIL`); the next sign-in links it. Otherwise change that account's email.".into(),
    )
}

fn linked_to_another_identity() -> AppError {
    refuse(
        Code::LinkedToAnotherIdentity,
        "An account here has your email address, but it belongs to another account at your identity provider, so you were not signed in to it.".into(),
        "The provider gave this email to a different subject (sub) than the one linked to the account: the address may have passed to someone else. If it is the same person (made anew at the provider), remove the old link with `romgate user unlink NAME`; the next sign-in links the account by its email.".into(),
    )
}

fn unverified_email() -> AppError {
    refuse(
        Code::EmailUnverified,
        "Your email address is not verified at the identity provider, so it cannot be used to sign you in here.".into(),
        "Verify the user's email at the provider (email_verified must be true), or create the link by signing in once with a verified address.".into(),
    )
}

async fn register(oidc: &Oidc, verified: &Verified, decision: RoleDecision, now: i64) -> AppResult<User> {
    let (config, store) = (&oidc.config, &oidc.store);
    if verified.claims.email_verified() == Some(false) {
        return Err(unverified_email());
    }
    if !config.allow_registration {
        return Err(refuse(
            Code::RegistrationDisabled,
            "There is no account for you here, and new accounts cannot be created by signing in.".into(),
            "OIDC_ALLOW_REGISTRATION=false: create the account first (same email, verified at the provider), or allow registration.".into(),
        ));
    }
    let attribute = config.username_attribute.as_str();
    let username = verified.claims.text(attribute).ok_or_else(|| {
        refuse(
            Code::UsernameMissing,
            format!("The identity provider did not send the '{attribute}' claim needed for your username."),
            format!("Release the '{attribute}' claim to this client, or set OIDC_USERNAME_ATTRIBUTE to a claim it sends (for example email or sub)."),
        )
    })?;
    validate_username(&username).map_err(|_| {
        refuse(
            Code::UsernameInvalid,
            format!("The username '{username}' from the '{attribute}' claim cannot be used here (letters a-z, digits and . _ - @ + only)."),
            "Set OIDC_USERNAME_ATTRIBUTE to a claim with a plain value, such as email or sub.".into(),
        )
    })?;
    let role = match decision {
        RoleDecision::Role(role) => role,
        _ => Role::Viewer,
    };
    let email = verified
        .claims
        .email()
        .filter(|_| verified.claims.email_is_trusted(verified.email_verified_advertised));
    let new_user = NewUser {
        username: username.clone(),
        // Kept only when the provider verified it (above).
        email_trusted: email.is_some(),
        email,
        password_hash: None,
        role,
        enabled: true,
    };
    match store
        .insert_user_with_link(&new_user, &verified.issuer, &verified.subject, now)
        .await
    {
        Ok(user) => {
            tracing::info!(user_id = user.id, role = %user.role, "account created by single sign-on");
            Ok(user)
        }
        Err(StoreError::Conflict(unique)) => {
            // Either a concurrent first sign-in of the same person won (use
            // its account), or the name or email belongs to someone else.
            if let Some(user) = store.find_linked_user(&verified.issuer, &verified.subject).await? {
                return Ok(user);
            }
            Err(taken(unique, &username))
        }
        Err(other) => Err(other.into()),
    }
}

/// The refusal for a new account that collides with one not linked to
/// this person: named by what collided.
fn taken(unique: Unique, username: &str) -> AppError {
    let hint = "It was not taken over. Link it by giving it the user's verified email, or rename one of the accounts.";
    let (code, message) = match unique {
        Unique::Username => (
            Code::UsernameTaken,
            format!("An account named '{username}' already exists here and is not linked to you."),
        ),
        Unique::Email => (
            Code::EmailTaken,
            "An account with your email address already exists here and is not linked to you.".to_string(),
        ),
        Unique::Other => (
            Code::UsernameTaken,
            format!("An account named '{username}' (or with your email) already exists here and is not linked to you."),
        ),
    };
    refuse(code, message, hint.into())
}

/// Applies the role from the claims; an absent claim keeps the stored role.
async fn apply_role(store: &Store, user: User, decision: RoleDecision, now: i64) -> AppResult<User> {
    let RoleDecision::Role(role) = decision else {
        return Ok(user);
    };
    if role == user.role {
        return Ok(user);
    }
    let changes = UserChanges {
        role: Some(role),
        ..Default::default()
    };
    match store.update_user(user.id, &changes, now).await {
        Ok(Some(updated)) => {
            tracing::info!(user_id = user.id, from = %user.role, to = %role, "role changed by the identity provider's claims");
            Ok(updated)
        }
        Ok(None) => Err(AppError::internal("user vanished during sign-in")),
        Err(StoreError::LastAdmin) => Err(refuse(
            Code::LastAdmin,
            "Your role at the identity provider no longer includes administrator, but you are the last administrator here.".into(),
            "Promote another administrator first (romgate user set-role NAME admin), or restore the admin group at the provider.".into(),
        )),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_collision_is_named_by_its_key() {
        for (unique, code, words) in [
            (Unique::Username, Code::UsernameTaken, "named 'alice' already exists"),
            (
                Unique::Email,
                Code::EmailTaken,
                "with your email address already exists",
            ),
        ] {
            let err = taken(unique, "alice");
            assert_eq!(err.code(), Some(code));
            let message = err.refusal().map(|r| r.message.to_string()).unwrap_or_default();
            assert!(message.contains(words), "{message}");
        }
    }

    #[test]
    fn the_roles_claim_is_logged_short() {
        assert_eq!(roles_for_log(None), "(claim absent)");
        assert_eq!(roles_for_log(Some(&json!(["players", 7]))), "[players, 7]");
        assert_eq!(roles_for_log(Some(&json!("admins"))), "admins");
        let many: Vec<String> = (0..25).map(|n| format!("g{n}")).collect();
        let logged = roles_for_log(Some(&json!(many)));
        assert!(
            logged.starts_with("[g0, g1,") && logged.ends_with("g19] (+5 more)"),
            "{logged}"
        );
        assert_eq!(clip(&"x".repeat(70), 64).chars().count(), 65);
    }
}
