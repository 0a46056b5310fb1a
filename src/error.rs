//! The one error type of romgate. A refusal carries a stable code (what a
//! client can match on), a message for the person and a hint for the admin.
//! Anything else is internal: its detail, with the chain of causes, goes to
//! the log, never to a client. The mapping to HTTP lives in `web::error`, in
//! one place (JSON and pages side by side).

mod code;
mod internal;

use std::borrow::Cow;
use std::fmt;

pub use code::Code;
pub use internal::Internal;

use crate::store::{StoreError, Unique};

/// Which kind of refusal: decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    /// No credentials, or ones that are not (any longer) valid.
    Unauthenticated,
    Forbidden,
    NotFound,
    /// Existed, but is used up or decided (a device sign-in code).
    Gone,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests {
        retry_after_seconds: u64,
    },
    /// The identity provider could not be reached or answered nonsense.
    BadGateway,
    /// romgate's own database cannot be reached right now (503): worth
    /// trying again in a moment.
    Unavailable,
}

#[derive(Debug, Clone)]
pub struct Refusal {
    pub kind: Kind,
    pub code: Code,
    pub message: Cow<'static, str>,
    pub hint: Option<Cow<'static, str>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{} ({})", .0.message, .0.code)]
    Refused(Refusal),
    #[error("internal error: {0}")]
    Internal(#[source] Internal),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn refuse(kind: Kind, code: Code, message: impl Into<Cow<'static, str>>) -> Self {
        AppError::Refused(Refusal {
            kind,
            code,
            message: message.into(),
            hint: None,
        })
    }

    pub fn bad_request(code: Code, message: impl Into<Cow<'static, str>>) -> Self {
        Self::refuse(Kind::BadRequest, code, message)
    }

    pub fn forbidden(code: Code, message: impl Into<Cow<'static, str>>) -> Self {
        Self::refuse(Kind::Forbidden, code, message)
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::refuse(Kind::NotFound, Code::NotFound, message)
    }

    pub fn conflict(code: Code, message: impl Into<Cow<'static, str>>) -> Self {
        Self::refuse(Kind::Conflict, code, message)
    }

    /// No (valid) credentials were presented.
    pub fn unauthenticated() -> Self {
        Self::refuse(Kind::Unauthenticated, Code::NotAuthenticated, "You need to sign in.")
    }

    /// Wrong username or password: one answer whether or not the user exists.
    pub fn invalid_credentials() -> Self {
        Self::refuse(
            Kind::Unauthenticated,
            Code::InvalidCredentials,
            "Incorrect username or password.",
        )
    }

    /// Nothing could be saved because a disk is full (503, Retry-After):
    /// add the admin's hint naming which disk.
    pub fn storage_full() -> Self {
        Self::refuse(
            Kind::Unavailable,
            Code::StorageFull,
            "The server's storage is full, so nothing was saved. Try again later.",
        )
    }

    /// An internal error described in words alone.
    pub fn internal(detail: impl fmt::Display) -> Self {
        AppError::Internal(Internal::new(detail.to_string()))
    }

    /// An internal error caused by `source`, whose chain the log keeps.
    pub fn internal_from(
        context: impl Into<Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        AppError::Internal(Internal::with_source(context, source))
    }

    /// Adds the admin's hint to a refusal.
    pub fn hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        if let AppError::Refused(refusal) = &mut self {
            refusal.hint = Some(hint.into());
        }
        self
    }

    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            AppError::Refused(refusal) => Some(refusal),
            AppError::Internal(_) => None,
        }
    }

    /// The refusal's code; `None` for an internal error.
    pub fn code(&self) -> Option<Code> {
        self.refusal().map(|r| r.code)
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(Unique::Username) => {
                AppError::conflict(Code::UsernameTaken, "That username is already taken.")
            }
            StoreError::Conflict(Unique::Email) => AppError::conflict(
                Code::EmailTaken,
                "That email address is already used by another account.",
            ),
            StoreError::Conflict(Unique::Other) => AppError::conflict(Code::AlreadyExists, "That already exists."),
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "a request was refused: the database is unavailable");
                AppError::refuse(
                    Kind::Unavailable,
                    Code::DatabaseUnavailable,
                    "The server cannot reach its database right now. Try again in a moment.",
                )
                .hint("Check that the database server is running and reachable from romgate (ROMM_DB_DRIVER, DB_HOST, DB_PORT); romgate reconnects by itself once it answers.")
            }
            StoreError::Full(cause) => {
                tracing::warn!(%cause, "a write was refused: the database's disk is full");
                AppError::storage_full().hint(
                    "The disk holding romgate's database is full (the SQLite file under ROMM_DATA_PATH, or the PostgreSQL server's data directory): free some space; romgate carries on by itself, no restart needed.",
                )
            }
            // The password checked is no longer the account's: as wrong as
            // any other (the new one is what works now).
            StoreError::PasswordChanged => AppError::invalid_credentials(),
            StoreError::AccountDisabled => AppError::forbidden(
                Code::AccountDisabled,
                "This account is disabled. Ask an administrator to enable it.",
            ),
            // As the request's next attempt would be answered.
            StoreError::MinterEnded => AppError::unauthenticated(),
            StoreError::LastAdmin => AppError::conflict(
                Code::LastAdmin,
                "This would leave no enabled administrator; promote another user first.",
            ),
            StoreError::Unstorable(cause) => {
                tracing::info!(%cause, "a request was refused: the database cannot store one of its values");
                AppError::bad_request(
                    Code::InvalidRequest,
                    "Something in the request cannot be stored: a NUL or other unusable character, or a value far too long.",
                )
            }
            StoreError::Vanished(cause) => {
                tracing::info!(%cause, "a request was refused: what it refers to was deleted meanwhile");
                AppError::not_found("What this refers to was removed meanwhile; reload and try again.")
            }
            other => AppError::internal_from("a database call failed", other),
        }
    }
}
