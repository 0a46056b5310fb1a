//! The command line: `romgate [serve]` and the admin commands, which work on
//! the same database as the server (and are the way in when no admin exists
//! or password login is disabled). The top layer: `serve` builds the
//! services (`crate::services`) and wraps them in the web layer; the account
//! commands build only `Auth`; `oidc check` needs only the configuration.
//!
//! Guarantees: every command that opens the database names it on standard
//! error first (redacted: never a password); only `serve` and `user create`
//! may create a SQLite database, so a command run from the wrong directory
//! says so instead of working on a new, empty one.

mod backup;
mod database;
mod health;
mod library;
mod password;
mod serve;
mod show_config;
mod users;

use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::config::Config;
use crate::error::{AppError, Code};

/// How long background work may go on after the command (or the server)
/// is done, before the process exits anyway.
const RUNTIME_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What `romgate --help` says after the commands: where data lives and the
/// variables a first run needs.
const AFTER_HELP: &str = "\
Where data lives:
  ROMM_DATA_PATH (default ./data, relative to the directory romgate runs in)
  holds the SQLite database romgate.db and the server's key. Commands that
  use the database print which one on standard error; every command but
  `serve` and `user create` refuses to create a new one.

Environment (the ones that matter most; see the README for all):
  ROMM_DATA_PATH       the data directory (default ./data)
  DATABASE_URL         sqlite:<file> or postgres://user:password@host/db
                       (default: SQLite in the data directory)
  ROMM_LIBRARY_PATH    the games, as roms/<platform>/<files> (default ./library)
  ROMM_BASE_URL        the public URL (default http://localhost:8080)
  ROMM_PORT            the port to listen on (default 8080)
  OIDC_ENABLED         true turns on single sign-on (then OIDC_CLIENT_ID,
                       OIDC_CLIENT_SECRET, OIDC_SERVER_APPLICATION_URL, ...;
                       check them with `romgate oidc check`)
  DISABLE_USERPASS_LOGIN, DISABLE_SETUP_WIZARD
  RUST_LOG, ROMGATE_LOG_FORMAT   log level and format (json)
  ROMGATE_METRICS_ADDR Prometheus metrics on their own address (e.g. 127.0.0.1:9898)
`romgate config` prints every variable with the value in use.";

#[derive(Parser)]
#[command(
    name = "romgate",
    version,
    about = "A self-hosted game-library server with RomM-compatible sign-in",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage accounts: create, list, set-password, set-role, set-email,
    /// enable, disable, unlock.
    #[command(subcommand)]
    User(UserCommand),
    /// The ROM library: scan.
    #[command(subcommand)]
    Library(LibraryCommand),
    /// Single sign-on tools: check.
    #[command(subcommand)]
    Oidc(OidcCommand),
    /// Print the effective configuration: every variable romgate reads, its
    /// value and where it came from (env or default); secrets masked.
    Config,
    /// Copy the SQLite database to FILE while the server runs (a consistent
    /// snapshot; FILE must not exist). For PostgreSQL use pg_dump.
    Backup { file: std::path::PathBuf },
    /// Put a backup made by `romgate backup` back, with the server stopped;
    /// the database it replaces is kept beside it as a .bak file.
    Restore { file: std::path::PathBuf },
    /// Ask the server running with this configuration whether it is up
    /// (exit 0 when it answers): a container's HEALTHCHECK.
    Health,
}

#[derive(Subcommand)]
enum OidcCommand {
    /// Check the OIDC_* settings against the live identity provider.
    Check,
}

#[derive(Subcommand)]
enum LibraryCommand {
    /// Scan ROMM_LIBRARY_PATH into the database now (what the server does at
    /// start and on POST /api/tasks/scan), printing each platform.
    Scan,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (the first admin, when password login is disabled);
    /// creates the database when there is none yet.
    Create {
        username: String,
        #[arg(long, default_value = "viewer", value_parser = role_parser())]
        role: Role,
        #[arg(long)]
        email: Option<String>,
        /// Ask for a password at the terminal (typed twice, not shown).
        #[arg(long, conflicts_with = "password_stdin")]
        password: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a password, asked at the terminal (typed twice, not shown); ends
    /// the user's sessions.
    SetPassword {
        username: String,
        /// Read the password from the first line of standard input (scripts).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an email, trusted: single sign-on with this verified email then
    /// links to the account ("" removes the email).
    SetEmail { username: String, email: String },
    /// Change a user's role (for example promote to admin).
    SetRole {
        username: String,
        #[arg(value_parser = role_parser())]
        role: Role,
    },
    /// Disable an account; ends its sessions and tokens.
    Disable { username: String },
    /// Enable an account.
    Enable { username: String },
    /// Clear the limits failed passwords put on a username's sign-in.
    Unlock { username: String },
    /// Remove an account's single sign-on links; the next sign-in through
    /// the provider links it again by its verified email.
    Unlink { username: String },
    /// List accounts.
    List,
}

/// The roles, listed in `--help` and in the error for an unknown one.
fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(["viewer", "editor", "admin"])
        .try_map(|value| Role::parse(&value).ok_or("role must be viewer, editor or admin"))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init();
    let config = match load_config(cli.command.as_ref()) {
        Some(config) => config,
        None => return ExitCode::from(2),
    };
    if matches!(cli.command, Some(Command::Config)) {
        show_config::print(&config);
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve::serve(config).await,
            Command::User(command) => users::run(config, command).await,
            Command::Library(LibraryCommand::Scan) => library::scan(config).await,
            Command::Oidc(OidcCommand::Check) => check_oidc(&config).await,
            Command::Backup { file } => backup::backup(&config, &file).await,
            Command::Restore { file } => backup::restore(&config, &file).await,
            // Printed above, without a runtime.
            Command::Config => Ok(()),
            Command::Health => health::check(&config).await,
        }
    });
    // Work still running in the background (a library scan hashing a large
    // file) must not hold up the exit once the server has stopped.
    runtime.shutdown_timeout(RUNTIME_STOP_TIMEOUT);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

/// The configuration, or `None` after printing every problem. The server
/// and the user commands also name the variables romgate does not read;
/// `oidc check` reports those, and the fail-closed settings, as its own lines;
/// `health`, run every half minute by a container, stays quiet about them.
fn load_config(command: Option<&Command>) -> Option<Config> {
    let checking = matches!(command, Some(Command::Oidc(OidcCommand::Check)));
    let quiet = checking || matches!(command, Some(Command::Health));
    let loaded = if checking {
        Config::from_env_for_check()
    } else {
        Config::from_env()
    };
    match loaded {
        Ok(config) => {
            if !quiet {
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

/// An error as the person at the terminal reads it: the message, then the
/// administrator's hint (they are the administrator here) on its own line.
fn describe(err: &AppError) -> String {
    match err {
        AppError::Refused(refusal) => match &refusal.hint {
            Some(hint) => format!("error: {}\nhint: {hint}", refusal.message),
            None => format!("error: {}", refusal.message),
        },
        AppError::Internal(internal) => format!("error: {}", internal.chain()),
    }
}

/// A refusal of the command line itself (not of the account rules).
fn refused(message: impl Into<String>) -> AppError {
    AppError::bad_request(Code::CommandRefused, message.into())
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
