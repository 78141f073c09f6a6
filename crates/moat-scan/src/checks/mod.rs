//! Checks: judgements over what a format parser extracted.

pub(crate) mod globals;
