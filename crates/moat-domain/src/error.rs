//! The error type of the domain rules: invalid names, values and references.

/// A value given by a user does not follow the rules of the domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid {what} `{value}`: {rule}")]
    Invalid {
        what: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("unknown {what} `{value}`; known: {known}")]
    Unknown {
        what: &'static str,
        value: String,
        known: String,
    },
}

impl Error {
    pub(crate) fn invalid(what: &'static str, value: &str, rule: &'static str) -> Self {
        Error::Invalid {
            what,
            value: value.to_owned(),
            rule,
        }
    }
}
