//! Audit entries: what one leaf of the log says, in canonical JSON (RFC 8785), so that
//! the same entry always hashes the same way on every platform.
//!
//! Personal data and large payloads stay outside the leaf: the leaf carries only a
//! salted hash of them ([`details_commitment`]), so they can be erased later without
//! breaking the tree.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

/// Version of the entry format.
pub const ENTRY_VERSION: u32 = 1;

/// Who acted, and how they authenticated. Ids only: names are personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// Principal id (`prn_…`).
    pub id: String,
    /// `api-key`, `cli-key` or `system`.
    pub auth: String,
    /// The key used, when one was.
    pub key_id: Option<String>,
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// `model-version`, `dataset-version`, `alias`, `key`, `audit-log`, …
    pub kind: String,
    /// `NAME@VERSION`, a key id, …
    pub id: String,
    /// Content digest of the version acted on, when it has one.
    pub digest: Option<String>,
}

/// One audit log entry, the data of one Merkle leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub v: u32,
    /// Position in the log, from 0.
    pub seq: u64,
    /// Server time, RFC 3339.
    pub time: String,
    pub actor: Actor,
    /// The permission-named action, such as `model.register`.
    pub action: String,
    pub resource: Resource,
    /// `sha256:` of the canonical state before the change (`None` when created).
    pub before: Option<String>,
    /// `sha256:` of the canonical state after the change (`None` when deleted or read).
    pub after: Option<String>,
    pub request_id: String,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    /// Salted commitment to the details kept outside the leaf.
    pub details: Option<String>,
    /// Hex leaf hash of the previous entry (empty for the first): a hash chain beside
    /// the tree, so verification can name the exact entry that changed.
    pub prev: String,
}

impl Entry {
    /// The leaf data: RFC 8785 canonical JSON.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        canonical_json(self)
    }

    /// Parses leaf data back; anything but an entry of a known version is an error.
    pub fn from_leaf(bytes: &[u8]) -> Result<Self, Error> {
        let e: Entry = serde_json::from_slice(bytes).map_err(|e| Error::Entry(e.to_string()))?;
        if e.v != ENTRY_VERSION {
            return Err(Error::Entry(format!("unknown entry version {}", e.v)));
        }
        Ok(e)
    }
}

/// RFC 8785 canonical JSON of any serialisable value.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_jcs::to_vec(value).expect("values with string keys always serialise")
}

/// `sha256:<hex>` of the canonical JSON of a value: the digest of a state or report.
pub fn canonical_digest<T: Serialize + ?Sized>(value: &T) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical_json(value)))
    )
}

/// `sha256:<hex>` of `salt || body`: what a leaf says about details kept elsewhere.
pub fn details_commitment(salt: &[u8], body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(body);
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(seq: u64) -> Entry {
        Entry {
            v: ENTRY_VERSION,
            seq,
            time: "2026-11-25T18:40:04.123Z".into(),
            actor: Actor {
                id: "prn_1".into(),
                auth: "cli-key".into(),
                key_id: Some("key_1".into()),
            },
            action: "model.register".into(),
            resource: Resource {
                kind: "model-version".into(),
                id: "fraud@1".into(),
                digest: Some("sha256:00".into()),
            },
            before: None,
            after: Some("sha256:11".into()),
            request_id: "req_1".into(),
            outcome: "success".into(),
            details: None,
            prev: String::new(),
        }
    }

    #[test]
    fn canonical_form_is_sorted_and_round_trips() {
        let e = sample(3);
        let bytes = e.leaf_bytes();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with(r#"{"action":"model.register","actor":{"auth":"cli-key","id":"prn_1","key_id":"key_1"},"after":"sha256:11","before":null,"#), "{text}");
        assert_eq!(Entry::from_leaf(&bytes).unwrap(), e);
        assert!(Entry::from_leaf(br#"{"v":2}"#).is_err());
        assert_eq!(
            canonical_digest(&serde_json::json!({"b": 1, "a": [true, null]})),
            format!(
                "sha256:{}",
                hex::encode(Sha256::digest(br#"{"a":[true,null],"b":1}"#))
            )
        );
    }
}
