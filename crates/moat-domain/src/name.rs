//! Names and versions of assets, and `NAME@VERSION` references.
//!
//! Names are what people type and what URLs carry, so they are kept to a safe,
//! unambiguous alphabet: no spaces, no `@`, no path separators.

use std::fmt;
use std::str::FromStr;

use crate::Error;

const NAME_RULE: &str =
    "use 1-128 characters: letters, digits, `-`, `_`, `.`, starting with a letter or digit";
const VERSION_RULE: &str =
    "use 1-64 characters: letters, digits, `-`, `_`, `.`, `+`, starting with a letter or digit";

fn check(s: &str, max: usize, extra: &[char]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || extra.contains(&c)
        })
        && !s.contains("..")
}

/// Checks the name of a model, dataset, team, vendor, endpoint, system or key.
pub fn validate_name(what: &'static str, s: &str) -> Result<(), Error> {
    if check(s, 128, &[]) {
        Ok(())
    } else {
        Err(Error::invalid(what, s, NAME_RULE))
    }
}

/// Checks a version label. Versions are labels chosen by the owner; their identity is
/// the content digest, so no ordering is imposed.
pub fn validate_version(s: &str) -> Result<(), Error> {
    if check(s, 64, &['+']) {
        Ok(())
    } else {
        Err(Error::invalid("version", s, VERSION_RULE))
    }
}

/// `NAME@VERSION`, the way assets are referred to on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssetRef {
    pub name: String,
    pub version: String,
}

impl AssetRef {
    pub fn new(name: &str, version: &str) -> Result<Self, Error> {
        validate_name("name", name)?;
        validate_version(version)?;
        Ok(AssetRef {
            name: name.to_owned(),
            version: version.to_owned(),
        })
    }
}

impl FromStr for AssetRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.split_once('@') {
            Some((n, v)) => AssetRef::new(n, v),
            None => Err(Error::invalid(
                "reference",
                s,
                "expected NAME@VERSION, e.g. fraud-scorer@1.4.0",
            )),
        }
    }
}

impl fmt::Display for AssetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_rejects() {
        assert!(validate_name("model", "fraud-scorer_v2.onnx").is_ok());
        for bad in [
            "",
            "-x",
            "a b",
            "a/b",
            "a@b",
            "../x",
            "a..b",
            &"x".repeat(129),
        ] {
            assert!(validate_name("model", bad).is_err(), "{bad}");
        }
        assert!(validate_version("1.4.0+build.7").is_ok());
        assert!(validate_version("1 4").is_err());
        let e = "fraud".parse::<AssetRef>().unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid reference `fraud`: expected NAME@VERSION, e.g. fraud-scorer@1.4.0"
        );
    }

    proptest! {
        #[test]
        fn valid_refs_round_trip(n in "[a-z0-9][a-z0-9_-]{0,20}", v in "[0-9][0-9.]{0,8}[0-9]") {
            prop_assume!(!v.contains(".."));
            let r = AssetRef::new(&n, &v).unwrap();
            prop_assert_eq!(r.to_string().parse::<AssetRef>().unwrap(), r);
        }
    }
}
