//! Errors of the store. A duplicate or a missing row is a user's problem and says so;
//! everything else is a database failure.

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("no Moat store at `{0}`; run `moat init` first (or pass --data-dir)")]
    NotInitialised(String),
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    Url(String),
    /// The database could not be reached or opened; `reason` is its own message
    /// (kept as text: sqlx's errors repeat their cause when chained).
    #[error("cannot connect to `{url}`: {reason}")]
    Connect { url: String, reason: String },
    #[error("the store is corrupt: {0}; run `moat audit verify` and restore from backup")]
    Corrupt(String),
    #[error("cannot migrate the database schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error")]
    Db(#[source] sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Db(e)
    }
}

impl Error {
    pub(crate) fn connect(url: &str, e: &sqlx::Error) -> Self {
        let reason = match e {
            sqlx::Error::Database(d) if d.message().contains("not a database") => format!(
                "{}: the file is corrupt or not a Moat store; restore it from a backup, or move it away and run `moat init`",
                d.message()
            ),
            sqlx::Error::Database(d) => d.message().to_owned(),
            other => other.to_string(),
        };
        Error::Connect {
            url: crate::redact_url(url),
            reason,
        }
    }

    /// Maps a unique-constraint violation to `Duplicate(what)`.
    pub(crate) fn unique(e: sqlx::Error, what: impl FnOnce() -> String) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => Error::Duplicate(what()),
            _ => Error::Db(e),
        }
    }
}
