//! The command line: `romgate [serve]` and the admin commands, which work on
//! the same database as the server (and are the way in when no admin exists
//! or password login is disabled). The top layer: `serve` builds the
//! services (`crate::services`) and wraps them in the web layer; the account
//! commands build only `Auth`; `oidc check` needs only the configuration.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::auth::password::PasswordPolicy;
use crate::auth::{AccountChanges, NewAccount, Role};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{AppError, Code};
use crate::library::Library;
use crate::secret::Secret;
use crate::services::{Services, build_auth};
use crate::store::Store;
use crate::web::server::ConnectionLimits;
use crate::web::state::AppState;

#[derive(Parser)]
#[command(
    name = "romgate",
    version,
    about = "A self-hosted game-library server with RomM-compatible sign-in"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Single sign-on tools.
    #[command(subcommand)]
    Oidc(OidcCommand),
}

#[derive(Subcommand)]
enum OidcCommand {
    /// Check the OIDC_* settings against the live identity provider.
    Check,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (the first admin, when password login is disabled).
    Create {
        username: String,
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a password (read from standard input); ends the user's sessions.
    SetPassword { username: String },
    /// Set an email, trusted: single sign-on with this verified email then
    /// links to the account ("" removes the email).
    SetEmail { username: String, email: String },
    /// Change a user's role (for example promote to admin).
    SetRole {
        username: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Disable an account; ends its sessions and tokens.
    Disable { username: String },
    /// Enable an account.
    Enable { username: String },
    /// Clear the limits failed passwords put on a username's sign-in.
    Unlock { username: String },
    /// List accounts.
    List,
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| "role must be viewer, editor or admin".to_string())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init();
    let config = match load_config(cli.command.as_ref()) {
        Some(config) => config,
        None => return ExitCode::from(2),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::User(command) => run_user_command(config, command).await,
            Command::Oidc(OidcCommand::Check) => check_oidc(&config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

/// The configuration, or `None` after printing every problem. The server
/// and the user commands also name the variables romgate does not read;
/// `oidc check` reports those, and the fail-closed settings, as its own lines.
fn load_config(command: Option<&Command>) -> Option<Config> {
    let checking = matches!(command, Some(Command::Oidc(OidcCommand::Check)));
    let loaded = if checking {
        Config::from_env_for_check()
    } else {
        Config::from_env()
    };
    match loaded {
        Ok(config) => {
            if !checking {
                crate::config::log_unknown_variables(&config.unknown_variables);
            }
            Some(config)
        }
        Err(errors) => {
            eprint!("{errors}");
            // A misspelt name is often why a required one is missing.
            let names: Vec<String> = std::env::vars_os()
                .filter_map(|(name, _)| name.into_string().ok())
                .collect();
            crate::config::log_unknown_variables(&crate::config::unknown_variables(names.iter().map(String::as_str)));
            None
        }
    }
}

fn describe(err: &AppError) -> String {
    match err {
        AppError::Refused(refusal) => refusal.message.to_string(),
        AppError::Internal(internal) => internal.chain(),
    }
}

async fn open_store(config: &Config) -> Result<Store, AppError> {
    if !config.database.is_postgres() {
        crate::store::files::prepare_data_dir(&config.data_path)
            .map_err(|e| AppError::internal_from(format!("cannot create {}", config.data_path.display()), e))?;
    }
    Store::open(&config.database)
        .await
        .map_err(|e| AppError::internal_from(format!("database {}", config.database.redacted()), e))
}

async fn serve(config: Config) -> Result<(), AppError> {
    crate::config::log_startup_warnings(&config);
    let store = open_store(&config).await?;
    let addr = SocketAddr::new(config.listen_address, config.port);
    let limits = ConnectionLimits::from_config(&config);
    tracing::info!(database = %config.database.redacted(), engine = store.engine(), "database ready");
    let services = Services::new(config, store.clone()).await?;
    spawn_cleanup(store.clone());
    spawn_library_scan(services.library.clone());
    let state = AppState::from_services(services);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| AppError::internal_from(format!("cannot listen on {addr}"), e))?;
    tracing::info!(
        %addr,
        max_connections = limits.max_connections,
        version = crate::web::VERSION,
        "romgate listening"
    );
    crate::web::server::serve(listener, crate::app(state), limits, shutdown_signal()).await;
    store.close().await;
    Ok(())
}

/// Deletes expired sessions, tokens and counters every ten minutes.
fn spawn_cleanup(store: Store) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(600));
        loop {
            interval.tick().await;
            if let Err(err) = store.delete_expired(SystemClock.now()).await {
                tracing::warn!(error = %err, "cleanup of expired sessions failed");
            }
        }
    });
}

/// Scans the library at startup, in the background: sign-in works at once,
/// even while a large library is hashed for the first time. A failure is a
/// warning, not a reason to stop.
fn spawn_library_scan(library: Library) {
    tokio::spawn(async move {
        if let Err(err) = library.scan(SystemClock.now()).await {
            tracing::warn!(error = %err, "the library scan at startup failed; the server runs on");
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

fn read_password_line() -> Result<Secret, AppError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| AppError::internal_from("reading the password from standard input", e))?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n'])))
}

async fn run_user_command(config: Config, command: UserCommand) -> Result<(), AppError> {
    let store = open_store(&config).await?;
    let now = SystemClock.now();
    let auth = &build_auth(&config, store.clone(), PasswordPolicy::PRODUCTION, now).await?;
    let find = |username: String| async move {
        auth.find_user_by_username(&username)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no user named '{username}'")))
    };
    match command {
        UserCommand::Create {
            username,
            role,
            email,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password_line()?)
            } else {
                None
            };
            let user = auth
                .create_account_unchecked(
                    NewAccount {
                        username,
                        email,
                        password,
                        role,
                    },
                    now,
                )
                .await?;
            println!("created user {} (id {}, role {})", user.username, user.id, user.role);
        }
        UserCommand::SetPassword { username } => {
            let user = find(username).await?;
            let password = read_password_line()?;
            auth.apply_changes(
                user.id,
                AccountChanges {
                    password: Some(password),
                    ..Default::default()
                },
                now,
            )
            .await?;
            println!(
                "password set for {}; their sessions and tokens are ended",
                user.username
            );
        }
        UserCommand::SetEmail { username, email } => {
            let user = find(username).await?;
            let changes = AccountChanges {
                email: Some(Some(email)),
                ..Default::default()
            };
            let user = auth.apply_changes(user.id, changes, now).await?;
            match &user.email {
                Some(email) => println!("{} now has the trusted email {email}", user.username),
                None => println!("{} has no email now", user.username),
            }
        }
        UserCommand::SetRole { username, role } => {
            let user = find(username).await?;
            auth.apply_changes(
                user.id,
                AccountChanges {
                    role: Some(role),
                    ..Default::default()
                },
                now,
            )
            .await?;
            println!("{} is now {role}", user.username);
        }
        UserCommand::Disable { username } => {
            let user = find(username).await?;
            auth.apply_changes(
                user.id,
                AccountChanges {
                    enabled: Some(false),
                    ..Default::default()
                },
                now,
            )
            .await?;
            println!("{} is disabled; their sessions and tokens are ended", user.username);
        }
        UserCommand::Enable { username } => {
            let user = find(username).await?;
            auth.apply_changes(
                user.id,
                AccountChanges {
                    enabled: Some(true),
                    ..Default::default()
                },
                now,
            )
            .await?;
            println!("{} is enabled", user.username);
        }
        UserCommand::Unlock { username } => {
            let user = find(username).await?;
            auth.clear_login_limits(&user.username).await?;
            println!("sign-in limits cleared for {}", user.username);
        }
        UserCommand::List => {
            println!("{:<6} {:<24} {:<8} {:<8} email", "id", "username", "role", "enabled");
            for account in auth.accounts_overview(now).await? {
                let user = account.user;
                let email = match user.email.as_deref() {
                    None => "-".to_string(),
                    Some(email) if account.email_trusted => email.to_string(),
                    Some(email) => format!("{email} (not trusted: set by its owner)"),
                };
                println!(
                    "{:<6} {:<24} {:<8} {:<8} {email}",
                    user.id, user.username, user.role, user.enabled
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn check_oidc(config: &Config) -> Result<(), AppError> {
    let lines = crate::oidc::check::run(config).await;
    for line in &lines {
        println!("{line}");
    }
    if crate::oidc::check::passed(&lines) {
        println!("all checks passed");
        Ok(())
    } else {
        Err(AppError::bad_request(
            Code::OidcCheckFailed,
            "some checks failed (see the lines marked ✗)",
        ))
    }
}
