//! Recomputes a stored log and checks it: entry by entry (sequence, content against its
//! leaf hash, the hash chain to the entry before, details against their commitment),
//! then the tree against every signed checkpoint. Streaming: memory is O(log n) plus
//! the checkpoints, whatever the size of the log.
//!
//! Each problem names the entry (or the range of entries) that is wrong:
//! - a modified entry whose stored leaf hash was left alone: `Modified`;
//! - a modified entry whose leaf hash was recomputed too: the next entry's chain link
//!   breaks (`ChainBroken`), and the signed checkpoints covering it no longer match;
//! - a deleted entry: a gap in the sequence (`Missing`), or, if later entries were
//!   renumbered, their content claims another position (`Moved`);
//! - reordered entries: `Moved`; inserted entries: `Moved`/`ChainBroken` in the
//!   middle, `Unsigned` at the end (past the signed head).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use crate::{leaf_hash, Checkpoint, Frontier, Hash, VerifierKey};

/// The fields of a leaf the verifier reads, borrowed from its bytes (the rest is
/// covered by the leaf hash; parsing all of it would double the time to verify).
#[derive(serde::Deserialize)]
struct LeafFields<'a> {
    v: u32,
    seq: u64,
    #[serde(borrow)]
    prev: Cow<'a, str>,
    #[serde(borrow)]
    details: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    outcome: Cow<'a, str>,
    #[serde(borrow)]
    resource: ResourceFields<'a>,
}

#[derive(serde::Deserialize)]
struct ResourceFields<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

/// The salt length of details commitments; another length means the stored salt and
/// body were shifted into each other.
const SALT_LEN: usize = 16;

/// One stored entry as the store returns it, in sequence order.
#[derive(Debug, Clone, Copy)]
pub struct StoredEntry<'a> {
    pub seq: u64,
    pub leaf: &'a [u8],
    pub leaf_hash: &'a [u8],
}

/// Details stored outside the leaf, when they have not been erased.
#[derive(Debug, Clone, Copy)]
pub struct StoredDetails<'a> {
    pub salt: &'a [u8],
    pub body: &'a [u8],
}

/// A stored signed checkpoint.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub note: String,
}

/// Something wrong with the log. `Display` says what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    Missing { expected: u64, found: u64 },
    Moved { seq: u64, claimed: u64 },
    Modified { seq: u64 },
    Unreadable { seq: u64, reason: String },
    ChainBroken { seq: u64 },
    DetailsModified { seq: u64 },
    DetailsRemoved { seq: u64 },
    CheckpointInvalid { index: usize, reason: String },
    CheckpointMismatch { size: u64, from: u64 },
    CheckpointBeyondLog { size: u64, log_size: u64 },
    Unsigned { from: u64, to: u64 },
    NoCheckpoint,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { expected: 0, found } => write!(
                f,
                "entries 0..{} are missing: the log starts at entry {found}",
                found.saturating_sub(1)
            ),
            Problem::Missing { expected, found } if *found == expected + 1 => write!(
                f,
                "entry {expected} is missing: the log jumps from entry {} to entry {found}",
                expected.saturating_sub(1)
            ),
            Problem::Missing { expected, found } if found > expected => write!(
                f,
                "entries {expected}..{} are missing: the log jumps from entry {} to entry {found}",
                found - 1,
                expected.saturating_sub(1)
            ),
            Problem::Missing { expected, found } => write!(
                f,
                "entry {found} is out of order: expected entry {expected} at this position"
            ),
            Problem::Moved { seq, claimed } => write!(
                f,
                "entry {seq} holds the content of entry {claimed}: entries were removed, inserted or reordered"
            ),
            Problem::Modified { seq } => write!(
                f,
                "entry {seq} was modified: its content does not match its leaf hash"
            ),
            Problem::Unreadable { seq, reason } => {
                write!(f, "entry {seq} is not a valid audit entry: {reason}")
            }
            Problem::ChainBroken { seq } => write!(
                f,
                "entry {} was modified, or entries were removed or inserted after it: entry {seq} does not follow it",
                seq.saturating_sub(1)
            ),
            Problem::DetailsModified { seq } => write!(
                f,
                "the details of entry {seq} were modified: they do not match the entry's commitment"
            ),
            Problem::DetailsRemoved { seq } => write!(
                f,
                "the details of entry {seq} were deleted without an audited erasure (`moat audit erase`)"
            ),
            Problem::CheckpointInvalid { index, reason } => {
                write!(f, "stored checkpoint #{index} is not valid: {reason}")
            }
            Problem::CheckpointMismatch { size, from } => write!(
                f,
                "the signed checkpoint at size {size} does not match the log: an entry in {from}..{} was altered, removed or inserted",
                size.saturating_sub(1)
            ),
            Problem::CheckpointBeyondLog { size, log_size } => write!(
                f,
                "a signed checkpoint covers {size} entries but the log holds {log_size}: entries {log_size}..{} were deleted",
                size.saturating_sub(1)
            ),
            Problem::Unsigned { from, to } => write!(
                f,
                "entries {from}..{} are not covered by the signed head: they were added without the log's key",
                to.saturating_sub(1)
            ),
            Problem::NoCheckpoint => write!(f, "the log has entries but no signed checkpoint"),
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub size: u64,
    pub root: Hash,
    /// Signed checkpoints checked against the recomputed tree.
    pub checkpoints_checked: usize,
    /// Largest tree size covered by a valid signed checkpoint.
    pub signed_size: u64,
    /// Entries whose details were erased (allowed: the leaf keeps its commitment).
    pub erased_details: u64,
    pub problems: Vec<Problem>,
    /// Problems found beyond the first [`MAX_PROBLEMS`].
    pub more_problems: u64,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Problems kept in a report; the rest are counted.
pub const MAX_PROBLEMS: usize = 1000;

/// Streaming verifier: `push` every entry in sequence order, then `finish`.
pub struct LogVerifier {
    tree: Frontier,
    expected: u64,
    prev_hash: Option<Hash>,
    prev_modified: bool,
    /// Entries whose details are gone, and entries an audited erasure names.
    details_gone: Vec<u64>,
    erasures: HashSet<u64>,
    checkpoints: Vec<Checkpoint>,
    next_cp: usize,
    last_good: u64,
    checked: usize,
    erased: u64,
    problems: Vec<Problem>,
    more: u64,
}

impl LogVerifier {
    /// `checkpoints` are every stored signed checkpoint (the head among them), in any
    /// order; each is opened with `key` and must name the log `origin`.
    pub fn new(key: &VerifierKey, origin: &str, checkpoints: &[StoredCheckpoint]) -> Self {
        let mut v = LogVerifier {
            tree: Frontier::default(),
            expected: 0,
            prev_hash: None,
            prev_modified: false,
            details_gone: Vec::new(),
            erasures: HashSet::new(),
            checkpoints: Vec::new(),
            next_cp: 0,
            last_good: 0,
            checked: 0,
            erased: 0,
            problems: Vec::new(),
            more: 0,
        };
        for (index, cp) in checkpoints.iter().enumerate() {
            match Checkpoint::open(&cp.note, key, origin) {
                Ok(c) => v.checkpoints.push(c),
                Err(e) => v.problem(Problem::CheckpointInvalid {
                    index,
                    reason: e.to_string(),
                }),
            }
        }
        v.checkpoints.sort_by_key(|c| c.size);
        v.check_checkpoints_at_size();
        v
    }

    fn problem(&mut self, p: Problem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        } else {
            self.more += 1;
        }
    }

    fn check_checkpoints_at_size(&mut self) {
        let size = self.tree.size();
        while let Some(cp) = self.checkpoints.get(self.next_cp) {
            if cp.size != size {
                break;
            }
            if cp.root == self.tree.root() {
                self.last_good = size;
            } else {
                let p = Problem::CheckpointMismatch {
                    size,
                    from: self.last_good,
                };
                self.problem(p);
            }
            self.checked += 1;
            self.next_cp += 1;
        }
    }

    /// Checks one entry and adds it to the recomputed tree.
    pub fn push(&mut self, e: StoredEntry<'_>, details: Option<StoredDetails<'_>>) {
        let mut after_gap = false;
        if e.seq != self.expected {
            after_gap = true;
            let p = Problem::Missing {
                expected: self.expected,
                found: e.seq,
            };
            self.problem(p);
            // Follow the stored numbering from here, so one gap is one problem.
            self.expected = e.seq;
        }
        let h = leaf_hash(e.leaf);
        let modified = e.leaf_hash != h;
        if modified {
            self.problem(Problem::Modified { seq: e.seq });
        }
        match serde_json::from_slice::<LeafFields<'_>>(e.leaf) {
            Ok(entry) if entry.v == crate::entry::ENTRY_VERSION => {
                if entry.seq != e.seq {
                    self.problem(Problem::Moved {
                        seq: e.seq,
                        claimed: entry.seq,
                    });
                } else if let Some(prev) = self.prev_hash {
                    let mut claimed = [0u8; 32];
                    let linked = hex::decode_to_slice(entry.prev.as_bytes(), &mut claimed).is_ok()
                        && claimed == prev;
                    // After a gap the link is broken by the gap, already reported.
                    if !self.prev_modified && !after_gap && !linked {
                        self.problem(Problem::ChainBroken { seq: e.seq });
                    }
                } else if e.seq == 0 && !entry.prev.is_empty() {
                    self.problem(Problem::ChainBroken { seq: 0 });
                }
                if entry.action == "audit.erase" && entry.outcome == "success" {
                    if let Ok(target) = entry.resource.id.parse::<u64>() {
                        self.erasures.insert(target);
                    }
                }
                match (entry.details, details) {
                    (Some(c), Some(d)) => {
                        if d.salt.len() != SALT_LEN
                            || c != crate::details_commitment(d.salt, d.body)
                        {
                            self.problem(Problem::DetailsModified { seq: e.seq });
                        }
                    }
                    (Some(_), None) => self.details_gone.push(e.seq),
                    (None, Some(_)) => self.problem(Problem::DetailsModified { seq: e.seq }),
                    (None, None) => {}
                }
            }
            Ok(entry) => self.problem(Problem::Unreadable {
                seq: e.seq,
                reason: format!("unknown entry version {}", entry.v),
            }),
            Err(err) => self.problem(Problem::Unreadable {
                seq: e.seq,
                reason: err.to_string(),
            }),
        }
        self.prev_hash = Some(h);
        self.prev_modified = modified;
        self.tree.append(h);
        self.expected += 1;
        self.check_checkpoints_at_size();
    }

    pub fn finish(mut self) -> VerifyReport {
        let size = self.tree.size();
        // Checkpoints the recomputed tree never reached: either the log ends before
        // them (entries deleted from the end) or entries are missing in the middle.
        let stored_end = self.expected;
        let rest: Vec<u64> = self
            .checkpoints
            .iter()
            .skip(self.next_cp)
            .map(|c| c.size)
            .collect();
        for cp_size in &rest {
            if *cp_size > stored_end {
                let p = Problem::CheckpointBeyondLog {
                    size: *cp_size,
                    log_size: stored_end,
                };
                self.problem(p);
                break;
            }
            let p = Problem::CheckpointMismatch {
                size: *cp_size,
                from: self.last_good,
            };
            self.problem(p);
        }
        // Details may only be gone where an audited erasure names the entry.
        for seq in std::mem::take(&mut self.details_gone) {
            if self.erasures.contains(&seq) {
                self.erased += 1;
            } else {
                self.problem(Problem::DetailsRemoved { seq });
            }
        }
        let signed = self.checkpoints.last().map_or(0, |c| c.size);
        if stored_end > 0 && self.checkpoints.is_empty() {
            self.problem(Problem::NoCheckpoint);
        } else if signed < stored_end {
            self.problem(Problem::Unsigned {
                from: signed,
                to: stored_end,
            });
        }
        VerifyReport {
            size,
            root: self.tree.root(),
            checkpoints_checked: self.checked,
            signed_size: self.last_good,
            erased_details: self.erased,
            problems: self.problems,
            more_problems: self.more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{details_commitment, Actor, Entry, Resource, SigningKey};

    const ORIGIN: &str = "moat.test/audit";

    struct Log {
        rows: Vec<(u64, Vec<u8>, Vec<u8>)>,
        details: Vec<Option<(Vec<u8>, Vec<u8>)>>,
        checkpoints: Vec<StoredCheckpoint>,
        key: SigningKey,
    }

    fn entry(seq: u64, prev: &str, details: Option<String>) -> Entry {
        Entry {
            v: 1,
            seq,
            time: "2026-11-25T00:00:00.000Z".into(),
            actor: Actor {
                id: "prn_a".into(),
                auth: "system".into(),
                key_id: None,
            },
            action: "model.register".into(),
            resource: Resource {
                kind: "model-version".into(),
                id: format!("m@{seq}"),
                digest: None,
            },
            before: None,
            after: Some(format!("sha256:{seq}")),
            request_id: format!("req_{seq}"),
            outcome: "success".into(),
            details,
            prev: prev.to_owned(),
        }
    }

    fn log(n: u64, checkpoint_every: u64) -> Log {
        let key = SigningKey::from_seed(ORIGIN, [3; 32]).unwrap();
        let mut tree = Frontier::default();
        let mut rows = Vec::new();
        let mut details = Vec::new();
        let mut checkpoints = Vec::new();
        let mut prev = String::new();
        for seq in 0..n {
            let d =
                (seq % 3 == 0).then(|| (vec![seq as u8; 16], format!("name-{seq}").into_bytes()));
            let commit = d.as_ref().map(|(s, b)| details_commitment(s, b));
            let leaf = entry(seq, &prev, commit).leaf_bytes();
            let h = leaf_hash(&leaf);
            prev = hex::encode(h);
            tree.append(h);
            rows.push((seq, leaf, h.to_vec()));
            details.push(d);
            if (seq + 1) % checkpoint_every == 0 || seq + 1 == n {
                let cp = Checkpoint {
                    origin: ORIGIN.into(),
                    size: tree.size(),
                    root: tree.root(),
                };
                checkpoints.push(StoredCheckpoint {
                    note: cp.sign(&key).unwrap(),
                });
            }
        }
        Log {
            rows,
            details,
            checkpoints,
            key,
        }
    }

    fn verify(l: &Log) -> VerifyReport {
        let mut v = LogVerifier::new(&l.key.verifier(), ORIGIN, &l.checkpoints);
        for ((seq, leaf, h), d) in l.rows.iter().zip(&l.details) {
            let d = d.as_ref().map(|(s, b)| StoredDetails { salt: s, body: b });
            v.push(
                StoredEntry {
                    seq: *seq,
                    leaf,
                    leaf_hash: h,
                },
                d,
            );
        }
        v.finish()
    }

    fn rewrite(l: &mut Log, i: usize, f: impl FnOnce(&mut Entry)) {
        let mut e = Entry::from_leaf(&l.rows[i].1).unwrap();
        f(&mut e);
        l.rows[i].1 = e.leaf_bytes();
        l.rows[i].2 = leaf_hash(&l.rows[i].1).to_vec();
    }

    #[test]
    fn intact_log_verifies_and_erasure_is_allowed() {
        let mut l = log(50, 10);
        let r = verify(&l);
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!((r.size, r.checkpoints_checked, r.signed_size), (50, 5, 50));
        // Details deleted behind the log's back are reported...
        l.details[3] = None;
        assert_eq!(
            verify(&l).problems,
            vec![Problem::DetailsRemoved { seq: 3 }]
        );
        // ...but not once an audited erasure names the entry.
        let prev = hex::encode(leaf_hash(&l.rows[49].1));
        let mut erase = entry(50, &prev, None);
        erase.action = "audit.erase".into();
        erase.resource = Resource {
            kind: "audit-entry".into(),
            id: "3".into(),
            digest: None,
        };
        let leaf = erase.leaf_bytes();
        let mut tree = Frontier::default();
        for r in &l.rows {
            tree.append(leaf_hash(&r.1));
        }
        tree.append(leaf_hash(&leaf));
        l.rows.push((50, leaf.clone(), leaf_hash(&leaf).to_vec()));
        l.details.push(None);
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: 51,
            root: tree.root(),
        };
        l.checkpoints.push(StoredCheckpoint {
            note: cp.sign(&l.key).unwrap(),
        });
        let r = verify(&l);
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!(r.erased_details, 1);
        // A salt shifted into the body (same commitment bytes) is caught too.
        let (salt, body) = l.details[0].clone().unwrap();
        let mut shifted_salt = salt.clone();
        shifted_salt.push(body[0]);
        l.details[0] = Some((shifted_salt, body[1..].to_vec()));
        assert_eq!(
            verify(&l).problems,
            vec![Problem::DetailsModified { seq: 0 }]
        );
    }

    #[test]
    fn modified_content_without_rehash() {
        let mut l = log(20, 5);
        l.rows[7].1 = String::from_utf8(l.rows[7].1.clone())
            .unwrap()
            .replace("m@7", "m@X")
            .into_bytes();
        let r = verify(&l);
        assert_eq!(r.problems[0], Problem::Modified { seq: 7 });
        assert!(r
            .problems
            .contains(&Problem::CheckpointMismatch { size: 10, from: 5 }));
        assert!(!r.problems.contains(&Problem::ChainBroken { seq: 8 }));
    }

    #[test]
    fn modified_content_with_rehash() {
        let mut l = log(20, 5);
        rewrite(&mut l, 7, |e| e.outcome = "denied".into());
        let r = verify(&l);
        assert_eq!(r.problems[0], Problem::ChainBroken { seq: 8 });
        assert_eq!(
            r.problems[0].to_string().split(':').next().unwrap(),
            "entry 7 was modified, or entries were removed or inserted after it"
        );
        assert!(r
            .problems
            .contains(&Problem::CheckpointMismatch { size: 10, from: 5 }));
    }

    #[test]
    fn deleted_entry() {
        let mut l = log(20, 5);
        l.rows.remove(12);
        l.details.remove(12);
        let r = verify(&l);
        assert_eq!(
            r.problems[0],
            Problem::Missing {
                expected: 12,
                found: 13
            }
        );
        assert!(r.problems[0].to_string().starts_with("entry 12 is missing"));
        // The last checkpoint is not reported as entries deleted from the end.
        assert!(
            !r.problems
                .iter()
                .any(|p| matches!(p, Problem::CheckpointBeyondLog { .. })),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn deleted_and_renumbered() {
        let mut l = log(20, 5);
        l.rows.remove(12);
        l.details.remove(12);
        for r in l.rows.iter_mut().skip(12) {
            r.0 -= 1;
        }
        let r = verify(&l);
        assert_eq!(
            r.problems[0],
            Problem::Moved {
                seq: 12,
                claimed: 13
            }
        );
        assert!(r.problems.contains(&Problem::CheckpointBeyondLog {
            size: 20,
            log_size: 19
        }));
    }

    #[test]
    fn reordered_entries() {
        let mut l = log(20, 5);
        let (a, b) = (l.rows[4].1.clone(), l.rows[5].1.clone());
        l.rows[4].1 = b;
        l.rows[5].1 = a;
        l.rows[4].2 = leaf_hash(&l.rows[4].1).to_vec();
        l.rows[5].2 = leaf_hash(&l.rows[5].1).to_vec();
        let r = verify(&l);
        assert_eq!(r.problems[0], Problem::Moved { seq: 4, claimed: 5 });
        assert!(r.problems.contains(&Problem::Moved { seq: 5, claimed: 4 }));
    }

    #[test]
    fn inserted_in_the_middle_with_rewritten_chain() {
        let mut l = log(20, 5);
        // Insert a forged entry at 10 and renumber everything after it consistently.
        let mut rows: Vec<Entry> = l
            .rows
            .iter()
            .map(|r| Entry::from_leaf(&r.1).unwrap())
            .collect();
        rows.insert(10, entry(10, "", None));
        l.details.insert(10, None);
        let mut prev = String::new();
        l.rows.clear();
        for (i, mut e) in rows.into_iter().enumerate() {
            e.seq = i as u64;
            e.prev = prev.clone();
            let leaf = e.leaf_bytes();
            let h = leaf_hash(&leaf);
            prev = hex::encode(h);
            l.rows.push((i as u64, leaf, h.to_vec()));
        }
        let r = verify(&l);
        assert!(
            r.problems
                .contains(&Problem::CheckpointMismatch { size: 15, from: 10 }),
            "{:?}",
            r.problems
        );
        assert!(r.problems.contains(&Problem::Unsigned { from: 20, to: 21 }));
    }

    #[test]
    fn appended_without_key_and_bad_signatures() {
        let mut l = log(10, 5);
        let last = hex::encode(leaf_hash(&l.rows[9].1));
        let leaf = entry(10, &last, None).leaf_bytes();
        let h = leaf_hash(&leaf).to_vec();
        l.rows.push((10, leaf, h));
        l.details.push(None);
        assert_eq!(
            verify(&l).problems,
            vec![Problem::Unsigned { from: 10, to: 11 }]
        );
        l.checkpoints[0].note = l.checkpoints[0].note.replace("\n5\n", "\n6\n");
        assert!(matches!(
            verify(&l).problems[0],
            Problem::CheckpointInvalid { index: 0, .. }
        ));
    }

    #[test]
    fn details_tampering() {
        let mut l = log(10, 5);
        l.details[3].as_mut().unwrap().1 = b"someone else".to_vec();
        assert_eq!(
            verify(&l).problems,
            vec![Problem::DetailsModified { seq: 3 }]
        );
    }
}
