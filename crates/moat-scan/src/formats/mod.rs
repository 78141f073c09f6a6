//! One parser per artifact format.

pub(crate) mod pickle;
