//! The database URL, as configured: the secret it may hold stays out of
//! every log line and error message (`redacted`).

use std::fmt;

use url::Url;

/// A database URL whose password never reaches a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres://") || self.0.starts_with("postgresql://")
    }
    /// The URL with any password replaced by `***`, for logs: the one in
    /// the authority and any query parameter naming one (`?password=`,
    /// which sqlx also reads). A PostgreSQL URL that does not parse, or
    /// parses with an `@` outside its authority (a password holding `/`,
    /// `#` or `?` ends the authority early), shows its scheme alone, as any
    /// of it could be the password.
    pub fn redacted(&self) -> String {
        let parsed = Url::parse(&self.0).ok().filter(|url| {
            let after_authority = [Some(url.path()), url.query(), url.fragment()];
            !after_authority.into_iter().flatten().any(|part| part.contains('@'))
        });
        let Some(mut url) = parsed else {
            return if self.is_postgres() {
                format!("{}://***", self.0.split("://").next().unwrap_or("postgres"))
            } else {
                self.0.clone()
            };
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        let names_a_password = |name: &str| name.to_ascii_lowercase().contains("password");
        if url.query_pairs().any(|(name, _)| names_a_password(&name)) {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(name, value)| {
                    let value = if names_a_password(&name) {
                        "***".into()
                    } else {
                        value.into_owned()
                    };
                    (name.into_owned(), value)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
}
