//! `romgate user ...`: the account commands, on `Auth` alone.

use super::UserCommand;
use super::database::{Missing, open_announced};
use super::password;
use crate::auth::password::PasswordPolicy;
use crate::auth::{AccountChanges, Auth, NewAccount};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::AppError;
use crate::services::build_auth;
use crate::store::User;

pub(super) async fn run(config: Config, command: UserCommand) -> Result<(), AppError> {
    // The documented way in on a fresh install: only `create` may start a
    // new database.
    let missing = match command {
        UserCommand::Create { .. } => Missing::Create,
        _ => Missing::Refuse,
    };
    let (store, _lock) = open_announced(&config, missing).await?;
    let now = SystemClock.now();
    let auth = build_auth(&config, store.clone(), PasswordPolicy::PRODUCTION, now).await?;
    let result = run_on(&auth, command, now).await;
    store.close().await;
    result
}

async fn find(auth: &Auth, username: &str) -> Result<User, AppError> {
    auth.find_user_by_username(username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user named '{username}'")))
}

async fn change(auth: &Auth, username: &str, changes: AccountChanges, now: i64) -> Result<User, AppError> {
    let user = find(auth, username).await?;
    auth.apply_changes(user.id, changes, now).await
}

async fn run_on(auth: &Auth, command: UserCommand, now: i64) -> Result<(), AppError> {
    match command {
        UserCommand::Create {
            username,
            role,
            email,
            password,
            password_stdin,
        } => {
            let password = match (password_stdin, password) {
                (true, _) => Some(password::from_stdin()?),
                (false, true) => Some(password::prompted(&username)?),
                (false, false) => None,
            };
            let account = NewAccount {
                username,
                email,
                password,
                role,
            };
            let without_password = account.password.is_none();
            let user = auth.create_account_unchecked(account, now).await?;
            println!("created user {} (id {}, role {})", user.username, user.id, user.role);
            if without_password {
                println!(
                    "{} has no password: they sign in through single sign-on (romgate user set-password {} gives \
                     them one)",
                    user.username, user.username
                );
            }
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let user = find(auth, &username).await?;
            let password = if password_stdin {
                password::from_stdin()?
            } else {
                password::prompted(&user.username)?
            };
            let changes = AccountChanges {
                password: Some(password),
                ..Default::default()
            };
            auth.apply_changes(user.id, changes, now).await?;
            println!(
                "password set for {}; their sessions and tokens are ended",
                user.username
            );
        }
        UserCommand::SetEmail { username, email } => {
            let changes = AccountChanges {
                email: Some(Some(email)),
                ..Default::default()
            };
            let user = change(auth, &username, changes, now).await?;
            match &user.email {
                Some(email) => println!("{} now has the trusted email {email}", user.username),
                None => println!("{} has no email now", user.username),
            }
        }
        UserCommand::SetRole { username, role } => {
            let changes = AccountChanges {
                role: Some(role),
                ..Default::default()
            };
            let user = change(auth, &username, changes, now).await?;
            println!("{} is now {role}", user.username);
        }
        UserCommand::Disable { username } => {
            let changes = AccountChanges {
                enabled: Some(false),
                ..Default::default()
            };
            let user = change(auth, &username, changes, now).await?;
            println!("{} is disabled; their sessions and tokens are ended", user.username);
        }
        UserCommand::Enable { username } => {
            let changes = AccountChanges {
                enabled: Some(true),
                ..Default::default()
            };
            let user = change(auth, &username, changes, now).await?;
            println!("{} is enabled", user.username);
        }
        UserCommand::Unlock { username } => {
            let user = find(auth, &username).await?;
            auth.clear_login_limits(&user.username).await?;
            println!("sign-in limits cleared for {}", user.username);
        }
        UserCommand::Unlink { username } => {
            let user = find(auth, &username).await?;
            let removed = auth.unlink_identities(user.id).await?;
            println!("{removed} single sign-on link(s) removed from {}", user.username);
        }
        UserCommand::List => list(auth, now).await?,
    }
    Ok(())
}

/// One row per account, columns as wide as their widest value.
async fn list(auth: &Auth, now: i64) -> Result<(), AppError> {
    let mut rows = vec![["id", "username", "role", "enabled", "email"].map(String::from)];
    for account in auth.accounts_overview(now).await? {
        let user = account.user;
        let email = match user.email.as_deref() {
            None => "-".to_string(),
            Some(email) if account.email_trusted => email.to_string(),
            Some(email) => format!("{email} (not trusted: set by its owner)"),
        };
        rows.push([
            user.id.to_string(),
            user.username,
            user.role.to_string(),
            user.enabled.to_string(),
            email,
        ]);
    }
    print!("{}", aligned(&rows));
    Ok(())
}

/// The rows as text, each column padded to its widest cell (counted in
/// characters, so a non-ASCII name does not shift the next column); the
/// last column is not padded.
fn aligned<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i + 1 == N {
                    cell.clone()
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        out.push_str(&cells.join("  "));
        out.push('\n');
    }
    out
}
