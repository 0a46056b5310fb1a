//! The stable refusal codes: the `error` member of a JSON refusal and the
//! `data-code` of an error page, what a client can match on. Each variant
//! names its wire string once, here; a new code must also decide its
//! OAuth 2.0 name (`rfc6749_error`) and its bearer challenge
//! (`bearer_challenge`), as both are exhaustive matches.

use std::fmt;

/// Declares `Code` with each variant's wire string beside it, and `as_str`.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)+
        }

        impl Code {
            /// Every code, for tests.
            pub const ALL: &[Code] = &[$(Code::$variant,)+];

            /// The code as clients see it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }
        }
    };
}

codes! {
    // The request itself.
    InvalidRequest = "invalid_request",
    InvalidPath = "invalid_path",
    NotFound = "not_found",
    MethodNotAllowed = "method_not_allowed",
    PayloadTooLarge = "payload_too_large",
    UnsupportedMediaType = "unsupported_media_type",
    RangeNotSatisfiable = "range_not_satisfiable",
    CsrfFailed = "csrf_failed",
    /// The server's own database cannot be reached (503).
    DatabaseUnavailable = "database_unavailable",
    /// The disk under the database or the library is full (503): nothing
    /// was saved; reads go on working.
    StorageFull = "storage_full",
    /// The database answers, but without this binary's migrations (503 on
    /// the readiness probe).
    SchemaOutdated = "schema_outdated",
    // Who is asking.
    NotAuthenticated = "not_authenticated",
    InvalidCredentials = "invalid_credentials",
    /// A bearer token that is unknown, expired or revoked.
    InvalidToken = "invalid_token",
    /// A download link that is unknown, expired, revoked or for another ROM.
    InvalidDownloadLink = "invalid_download_link",
    UnsupportedAuthorization = "unsupported_authorization",
    InvalidAuthorizationHeader = "invalid_authorization_header",
    InsufficientScope = "insufficient_scope",
    AccountDisabled = "account_disabled",
    PasswordLoginDisabled = "password_login_disabled",
    TooManyAttempts = "too_many_attempts",
    CurrentPasswordRequired = "current_password_required",
    CurrentPasswordInvalid = "current_password_invalid",
    FreshSignInRequired = "fresh_sign_in_required",
    // The token endpoint's own (RFC 6749) codes.
    InvalidGrant = "invalid_grant",
    InvalidScope = "invalid_scope",
    UnsupportedGrantType = "unsupported_grant_type",
    // RFC 8628's device-flow answers (also RomM's `detail` for its flow).
    AuthorizationPending = "authorization_pending",
    SlowDown = "slow_down",
    AccessDenied = "access_denied",
    ExpiredToken = "expired_token",
    // Client tokens and devices.
    /// A person already holds the most client tokens allowed.
    TokenLimitReached = "token_limit_reached",
    /// A device sign-in code was already approved or denied.
    AlreadyDecided = "already_decided",
    // Accounts.
    InvalidUsername = "invalid_username",
    InvalidEmail = "invalid_email",
    InvalidPassword = "invalid_password",
    InvalidRole = "invalid_role",
    /// Another account has this username (case-insensitive).
    UsernameTaken = "username_taken",
    /// Another account has this email (case-insensitive).
    EmailTaken = "email_taken",
    /// A unique value collided that is neither a username nor an email.
    AlreadyExists = "already_exists",
    LastAdmin = "last_admin",
    AdminOnly = "admin_only",
    SetupDisabled = "setup_disabled",
    SetupDone = "setup_done",
    /// The open setup was asked for under a host name that is not this
    /// server's (DNS rebinding; see `web::setup_host`).
    SetupHostNotAllowed = "setup_host_not_allowed",
    EmailRequired = "email_required",
    // Single sign-on.
    OidcDisabled = "oidc_disabled",
    OidcCheckFailed = "oidc_check_failed",
    /// A command-line refusal: a missing database, a password typed twice
    /// differently, no terminal to prompt on.
    CommandRefused = "command_refused",
    CallbackIncomplete = "callback_incomplete",
    AttemptExpired = "attempt_expired",
    StateMismatch = "state_mismatch",
    StateUnknown = "state_unknown",
    /// The provider answered the sign-in with `error=`.
    ProviderError = "provider_error",
    ProviderUnreachable = "provider_unreachable",
    ProviderInvalidResponse = "provider_invalid_response",
    ProviderIssuerMismatch = "provider_issuer_mismatch",
    ProviderMisconfigured = "provider_misconfigured",
    TokenExchangeFailed = "token_exchange_failed",
    /// The provider refused romgate's own client credentials.
    ClientRefused = "client_refused",
    IdTokenMissing = "id_token_missing",
    IdTokenInvalid = "id_token_invalid",
    UserinfoInvalid = "userinfo_invalid",
    NoRole = "no_role",
    EmailNotTrusted = "email_not_trusted",
    /// The account with this email is linked to another identity at the
    /// same provider (a reassigned address, or a person made anew there).
    LinkedToAnotherIdentity = "linked_to_another_identity",
    EmailUnverified = "email_unverified",
    RegistrationDisabled = "registration_disabled",
    UsernameMissing = "username_missing",
    UsernameInvalid = "username_invalid",
    // The library.
    LibraryMissing = "library_missing",
    InvalidPlatform = "invalid_platform",
    PathOutsideLibrary = "path_outside_library",
    PlatformNotAFolder = "platform_not_a_folder",
    FolderRom = "folder_rom",
    RomExists = "rom_exists",
    MissingPlatform = "missing_platform",
    MissingFile = "missing_file",
    OneFile = "one_file",
    FieldTooLarge = "field_too_large",
    InvalidMultipart = "invalid_multipart",
    /// A chunked upload completed before all its chunks arrived.
    MissingChunks = "missing_chunks",
    /// A chunked upload's chunks do not add up to the size it announced.
    SizeMismatch = "size_mismatch",
    /// A chunked upload is being completed by another request.
    UploadBusy = "upload_busy",
    /// A person already has the most chunked uploads open at once.
    TooManyUploads = "too_many_uploads",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Code {
    /// The code in RFC 6749's vocabulary (§5.2), for `POST /api/token`.
    pub fn rfc6749_error(self) -> &'static str {
        match self {
            Code::InvalidCredentials | Code::AccountDisabled | Code::InvalidGrant => "invalid_grant",
            Code::PasswordLoginDisabled => "unauthorized_client",
            Code::InvalidScope => "invalid_scope",
            Code::UnsupportedGrantType => "unsupported_grant_type",
            Code::TooManyAttempts | Code::SlowDown => "slow_down",
            Code::AuthorizationPending => "authorization_pending",
            Code::AccessDenied => "access_denied",
            Code::ExpiredToken => "expired_token",
            Code::DatabaseUnavailable | Code::StorageFull | Code::SchemaOutdated => "temporarily_unavailable",
            Code::InvalidRequest
            | Code::InvalidPath
            | Code::NotFound
            | Code::MethodNotAllowed
            | Code::PayloadTooLarge
            | Code::UnsupportedMediaType
            | Code::RangeNotSatisfiable
            | Code::CsrfFailed
            | Code::NotAuthenticated
            | Code::InvalidToken
            | Code::InvalidDownloadLink
            | Code::UnsupportedAuthorization
            | Code::InvalidAuthorizationHeader
            | Code::InsufficientScope
            | Code::CurrentPasswordRequired
            | Code::CurrentPasswordInvalid
            | Code::FreshSignInRequired
            | Code::InvalidUsername
            | Code::InvalidEmail
            | Code::InvalidPassword
            | Code::InvalidRole
            | Code::UsernameTaken
            | Code::EmailTaken
            | Code::AlreadyExists
            | Code::LastAdmin
            | Code::AdminOnly
            | Code::SetupDisabled
            | Code::SetupDone
            | Code::SetupHostNotAllowed
            | Code::EmailRequired
            | Code::OidcDisabled
            | Code::OidcCheckFailed
            | Code::CommandRefused
            | Code::CallbackIncomplete
            | Code::AttemptExpired
            | Code::StateMismatch
            | Code::StateUnknown
            | Code::ProviderError
            | Code::ProviderUnreachable
            | Code::ProviderInvalidResponse
            | Code::ProviderIssuerMismatch
            | Code::ProviderMisconfigured
            | Code::TokenExchangeFailed
            | Code::ClientRefused
            | Code::IdTokenMissing
            | Code::IdTokenInvalid
            | Code::UserinfoInvalid
            | Code::NoRole
            | Code::EmailNotTrusted
            | Code::LinkedToAnotherIdentity
            | Code::EmailUnverified
            | Code::RegistrationDisabled
            | Code::UsernameMissing
            | Code::UsernameInvalid
            | Code::LibraryMissing
            | Code::InvalidPlatform
            | Code::PathOutsideLibrary
            | Code::PlatformNotAFolder
            | Code::FolderRom
            | Code::RomExists
            | Code::MissingPlatform
            | Code::MissingFile
            | Code::OneFile
            | Code::FieldTooLarge
            | Code::InvalidMultipart
            | Code::MissingChunks
            | Code::SizeMismatch
            | Code::UploadBusy
            | Code::TooManyUploads
            | Code::TokenLimitReached
            | Code::AlreadyDecided => "invalid_request",
        }
    }

    /// The `WWW-Authenticate` value of a 401 with this code (RFC 6750 §3):
    /// only a presented token that is not valid names an error; a request
    /// with no (usable) credentials gets the bare challenge.
    pub fn bearer_challenge(self) -> &'static str {
        match self {
            Code::InvalidToken => r#"Bearer realm="romgate", error="invalid_token""#,
            Code::NotAuthenticated
            | Code::InvalidDownloadLink
            | Code::InvalidCredentials
            | Code::UnsupportedAuthorization
            | Code::InvalidAuthorizationHeader
            | Code::InvalidRequest
            | Code::InvalidPath
            | Code::NotFound
            | Code::MethodNotAllowed
            | Code::PayloadTooLarge
            | Code::UnsupportedMediaType
            | Code::RangeNotSatisfiable
            | Code::CsrfFailed
            | Code::InsufficientScope
            | Code::AccountDisabled
            | Code::PasswordLoginDisabled
            | Code::TooManyAttempts
            | Code::CurrentPasswordRequired
            | Code::CurrentPasswordInvalid
            | Code::FreshSignInRequired
            | Code::InvalidGrant
            | Code::InvalidScope
            | Code::UnsupportedGrantType
            | Code::InvalidUsername
            | Code::InvalidEmail
            | Code::InvalidPassword
            | Code::InvalidRole
            | Code::UsernameTaken
            | Code::EmailTaken
            | Code::AlreadyExists
            | Code::LastAdmin
            | Code::AdminOnly
            | Code::SetupDisabled
            | Code::SetupDone
            | Code::SetupHostNotAllowed
            | Code::EmailRequired
            | Code::OidcDisabled
            | Code::OidcCheckFailed
            | Code::CommandRefused
            | Code::CallbackIncomplete
            | Code::AttemptExpired
            | Code::StateMismatch
            | Code::StateUnknown
            | Code::ProviderError
            | Code::ProviderUnreachable
            | Code::ProviderInvalidResponse
            | Code::ProviderIssuerMismatch
            | Code::ProviderMisconfigured
            | Code::TokenExchangeFailed
            | Code::ClientRefused
            | Code::IdTokenMissing
            | Code::IdTokenInvalid
            | Code::UserinfoInvalid
            | Code::NoRole
            | Code::EmailNotTrusted
            | Code::LinkedToAnotherIdentity
            | Code::EmailUnverified
            | Code::RegistrationDisabled
            | Code::UsernameMissing
            | Code::UsernameInvalid
            | Code::LibraryMissing
            | Code::InvalidPlatform
            | Code::PathOutsideLibrary
            | Code::PlatformNotAFolder
            | Code::FolderRom
            | Code::RomExists
            | Code::MissingPlatform
            | Code::MissingFile
            | Code::OneFile
            | Code::FieldTooLarge
            | Code::InvalidMultipart
            | Code::MissingChunks
            | Code::SizeMismatch
            | Code::UploadBusy
            | Code::TooManyUploads
            | Code::DatabaseUnavailable
            | Code::StorageFull
            | Code::SchemaOutdated
            | Code::AuthorizationPending
            | Code::SlowDown
            | Code::AccessDenied
            | Code::ExpiredToken
            | Code::TokenLimitReached
            | Code::AlreadyDecided => r#"Bearer realm="romgate""#,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_words() {
        let texts: HashSet<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(texts.len(), Code::ALL.len());
        for text in texts {
            assert!(
                !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{text}"
            );
        }
    }
}
