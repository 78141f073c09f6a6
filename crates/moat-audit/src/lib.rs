//! The tamper-evident audit log of Moat, as pure functions: RFC 6962 / RFC 9162 Merkle
//! tree hashing, inclusion and consistency proofs, canonical (RFC 8785) audit entries,
//! Ed25519-signed checkpoints in the C2SP signed-note / tlog-checkpoint format, and the
//! verifier that recomputes a stored log and says which entry is wrong.
//!
//! No IO: the store keeps the bytes; this crate computes and checks hashes. It is the
//! only place that computes leaf hashes.
//!
//! ```
//! use moat_audit::{leaf_hash, Frontier};
//! let mut tree = Frontier::default();
//! tree.append(leaf_hash(b"first entry"));
//! assert_eq!(tree.root(), leaf_hash(b"first entry"));
//! ```

// Parsers of untrusted bytes: no unwrap, no unchecked indexing, no panic (STYLE.md §2).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

mod checkpoint;
mod entry;
mod error;
mod hash;
mod note;
mod proof;
mod tree;
mod verify;

pub use checkpoint::Checkpoint;
pub use entry::{
    canonical_digest, canonical_json, details_commitment, Actor, Entry, Resource, ENTRY_VERSION,
};
pub use error::Error;
pub use hash::{empty_root, leaf_hash, node_hash, Hash};
pub use note::{SigningKey, VerifierKey};
pub use proof::{verify_consistency, verify_inclusion};
pub use tree::{
    consistency_nodes, consistency_proof, inclusion_nodes, inclusion_proof, Frontier, NodeId,
};
pub use verify::{
    LogVerifier, Problem, StoredCheckpoint, StoredDetails, StoredEntry, VerifyReport, MAX_PROBLEMS,
};
