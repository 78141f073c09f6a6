//! Checkpoints in the C2SP tlog-checkpoint format: the origin (the log's name), the
//! tree size in decimal, and the base64 root hash, one per line, signed as a note.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::{Error, Hash, SigningKey, VerifierKey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a note text; extension lines are allowed and ignored.
    pub fn parse_body(text: &str) -> Result<Self, Error> {
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(Error::Checkpoint("missing origin line"))?;
        let size_text = lines
            .next()
            .ok_or(Error::Checkpoint("missing tree size line"))?;
        let size: u64 = size_text
            .parse()
            .map_err(|_| Error::Checkpoint("the tree size is not a decimal number"))?;
        if size.to_string() != size_text {
            return Err(Error::Checkpoint(
                "the tree size is not in canonical decimal",
            ));
        }
        let root = B64
            .decode(
                lines
                    .next()
                    .ok_or(Error::Checkpoint("missing root hash line"))?,
            )
            .map_err(|_| Error::Checkpoint("the root hash is not base64"))?;
        let root: Hash = root
            .try_into()
            .map_err(|_| Error::Checkpoint("the root hash is not 32 bytes"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    pub fn sign(&self, key: &SigningKey) -> Result<String, Error> {
        key.sign_note(&self.body())
    }

    /// Verifies a signed checkpoint and checks it belongs to the log `origin`.
    pub fn open(note: &str, key: &VerifierKey, origin: &str) -> Result<Self, Error> {
        let cp = Checkpoint::parse_body(key.open_note(note)?)?;
        if cp.origin != origin {
            return Err(Error::WrongOrigin {
                expected: origin.to_owned(),
                found: cp.origin,
            });
        }
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_open_and_reject() {
        let key = SigningKey::from_seed("moat.test/audit", [1; 32]).unwrap();
        let cp = Checkpoint {
            origin: "moat.test/audit".into(),
            size: 10,
            root: [9; 32],
        };
        let note = cp.sign(&key).unwrap();
        assert!(note.starts_with("moat.test/audit\n10\nCQkJ"));
        assert_eq!(
            Checkpoint::open(&note, &key.verifier(), "moat.test/audit").unwrap(),
            cp
        );
        assert!(matches!(
            Checkpoint::open(&note, &key.verifier(), "other"),
            Err(Error::WrongOrigin { .. })
        ));
        assert!(Checkpoint::parse_body("o\n010\nCQ==\n").is_err());
        assert!(Checkpoint::parse_body("o\n1\nCQ==\n").is_err());
    }
}
