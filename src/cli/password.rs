//! Reading a password for the account commands: from a line of standard
//! input for scripts (`--password-stdin`), else at the terminal, without
//! echo and typed twice. Never from an argument (it would sit in the shell
//! history and the process list).

use std::io::{BufRead, IsTerminal};

use super::refused;
use crate::error::AppError;
use crate::secret::Secret;

/// The first line of standard input, without its line ending.
pub(super) fn from_stdin() -> Result<Secret, AppError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| AppError::internal_from("reading the password from standard input", e))?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n'])))
}

/// Asks at the terminal, twice, without echo. Without a terminal (a pipe,
/// a script) it refuses and names `--password-stdin`, instead of reading
/// whatever the pipe holds as a password.
pub(super) fn prompted(username: &str) -> Result<Secret, AppError> {
    if !std::io::stdin().is_terminal() {
        return Err(refused("standard input is not a terminal, so romgate cannot ask for the password")
            .hint("Pipe the password in with --password-stdin, for example: echo 'new password' | romgate user set-password NAME --password-stdin"));
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|e| AppError::internal_from("reading the password from the terminal", e))
    };
    let first = Secret::new(read(&format!("New password for {username}: "))?);
    let again = Secret::new(read("Type it again: ")?);
    if first.expose() != again.expose() {
        return Err(refused("the two passwords differ; nothing was changed"));
    }
    Ok(first)
}
