//! Errors of the audit engine: malformed keys, notes and checkpoints, missing nodes.

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("malformed key: {0}")]
    Key(&'static str),
    #[error("malformed signed note: {0}")]
    Note(&'static str),
    #[error("the signed note has no valid signature by key `{0}`")]
    BadSignature(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
    #[error("checkpoint is for log `{found}`, expected `{expected}`")]
    WrongOrigin { expected: String, found: String },
    #[error("index {index} is outside a tree of size {size}")]
    OutOfRange { index: u64, size: u64 },
    #[error("tree node at level {level}, index {index} is missing from the store")]
    MissingNode { level: u8, index: u64 },
    #[error("malformed audit entry: {0}")]
    Entry(String),
}
