//! An internal error: what failed, with the chain of causes that led to it,
//! for the log only. A client sees a generic answer (`http::error`).

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A cause, shared: a remembered error (a failed provider discovery) is
/// handed to every caller waiting for it.
type Cause = Arc<dyn Error + Send + Sync + 'static>;

#[derive(Debug, Clone)]
pub struct Internal {
    context: Cow<'static, str>,
    source: Option<Cause>,
}

impl Internal {
    pub fn new(context: impl Into<Cow<'static, str>>) -> Self {
        Internal {
            context: context.into(),
            source: None,
        }
    }

    pub fn with_source(context: impl Into<Cow<'static, str>>, source: impl Error + Send + Sync + 'static) -> Self {
        Internal {
            context: context.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// The context and every cause, `: `-separated, as the log shows it.
    /// A cause whose words are already there is left out: many errors
    /// write their source into their own message.
    pub fn chain(&self) -> String {
        let mut text = self.context.to_string();
        let mut cause = self.source();
        while let Some(err) = cause {
            let words = err.to_string();
            if !text.contains(&words) {
                text.push_str(": ");
                text.push_str(&words);
            }
            cause = err.source();
        }
        text
    }
}

impl fmt::Display for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)
    }
}

impl Error for Internal {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|cause| cause as &(dyn Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that, unlike many, keeps its source out of its message.
    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("reading the index")
        }
    }

    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_chain_names_every_cause_once() {
        let io = std::io::Error::other("disk on fire");
        let internal = Internal::with_source("scanning the library", Outer(io));
        assert_eq!(
            internal.chain(),
            "scanning the library: reading the index: disk on fire"
        );
        let repeated = Internal::with_source("a database call", std::io::Error::other("pool closed"));
        assert_eq!(repeated.chain(), "a database call: pool closed");
        assert_eq!(Internal::new("no row id").chain(), "no row id");
    }
}
