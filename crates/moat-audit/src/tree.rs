//! The Merkle tree as a store of perfect subtrees.
//!
//! A perfect subtree (level `L`, index `k`) covers leaves `[k·2^L, (k+1)·2^L)`. Its hash
//! never changes once its last leaf is appended, so the store keeps each one as it is
//! completed ([`Frontier::append`] returns them) and proofs read O(log² n) of them
//! instead of rehashing the log. Proof construction follows RFC 6962 §2.1.1 (PATH) and
//! §2.1.2 (PROOF/SUBPROOF) over ranges; the caller supplies node lookups, so the same
//! code serves the database and in-memory tests. [`inclusion_nodes`] and
//! [`consistency_nodes`] list the nodes a proof needs, so a store can fetch them in
//! one query.

use crate::hash::{empty_root, node_hash, Hash};
use crate::Error;

/// A perfect subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

/// The right edge of the tree: one perfect subtree per set bit of the size, largest
/// first. Enough to append and to compute the root in O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The perfect subtrees that make up the frontier of a tree of `size` leaves,
    /// in the order [`Frontier::from_nodes`] takes them.
    pub fn ids(size: u64) -> Vec<NodeId> {
        let mut ids = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1u64 << level) != 0 {
                ids.push(NodeId {
                    level,
                    index: start >> level,
                });
                start += 1u64 << level;
            }
        }
        ids
    }

    /// Rebuilds the frontier from the hashes of [`Frontier::ids`]`(size)`.
    pub fn from_nodes(size: u64, nodes: Vec<Hash>) -> Result<Self, Error> {
        if nodes.len() != size.count_ones() as usize {
            return Err(Error::Checkpoint("frontier does not match the tree size"));
        }
        Ok(Frontier { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and returns every perfect subtree this completes, the leaf
    /// itself first.
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut done = Vec::with_capacity(2);
        let mut h = leaf;
        let mut id = NodeId {
            level: 0,
            index: self.size,
        };
        done.push((id, h));
        while id.index & 1 == 1 {
            let left = self
                .nodes
                .pop()
                .expect("a set low bit of the size has a frontier node");
            h = node_hash(&left, &h);
            id = NodeId {
                level: id.level + 1,
                index: id.index >> 1,
            };
            done.push((id, h));
        }
        self.nodes.push(h);
        self.size += 1;
        done
    }

    /// The Merkle tree hash of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

fn split(n: u64) -> u64 {
    // Largest power of two strictly smaller than n (n >= 2).
    1u64 << (63 - (n - 1).leading_zeros())
}

type Lookup<'a> = &'a mut dyn FnMut(NodeId) -> Option<Hash>;

fn range_hash(a: u64, b: u64, get: Lookup<'_>) -> Result<Hash, Error> {
    let n = b - a;
    if n.is_power_of_two() && a % n == 0 {
        let id = NodeId {
            level: n.trailing_zeros() as u8,
            index: a >> n.trailing_zeros(),
        };
        return get(id).ok_or(Error::MissingNode {
            level: id.level,
            index: id.index,
        });
    }
    let k = split(n);
    let l = range_hash(a, a + k, get)?;
    let r = range_hash(a + k, b, get)?;
    Ok(node_hash(&l, &r))
}

fn path(m: u64, a: u64, b: u64, get: Lookup<'_>, out: &mut Vec<Hash>) -> Result<(), Error> {
    if b - a <= 1 {
        return Ok(());
    }
    let k = split(b - a);
    if m < a + k {
        path(m, a, a + k, get, out)?;
        out.push(range_hash(a + k, b, get)?);
    } else {
        path(m, a + k, b, get, out)?;
        out.push(range_hash(a, a + k, get)?);
    }
    Ok(())
}

fn subproof(
    m: u64,
    a: u64,
    b: u64,
    complete: bool,
    get: Lookup<'_>,
    out: &mut Vec<Hash>,
) -> Result<(), Error> {
    let n = b - a;
    if m == n {
        if !complete {
            out.push(range_hash(a, b, get)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(m, a, a + k, complete, get, out)?;
        out.push(range_hash(a + k, b, get)?);
    } else {
        subproof(m - k, a + k, b, false, get, out)?;
        out.push(range_hash(a, a + k, get)?);
    }
    Ok(())
}

/// The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 PATH),
/// deepest sibling first.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    mut get: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, Error> {
    if index >= size {
        return Err(Error::OutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(index, 0, size, &mut get, &mut out)?;
    Ok(out)
}

/// The consistency proof between the trees of `size1` and `size2` leaves (RFC 6962
/// PROOF). Empty when `size1` is 0 or equal to `size2`.
pub fn consistency_proof(
    size1: u64,
    size2: u64,
    mut get: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, Error> {
    if size1 > size2 {
        return Err(Error::OutOfRange {
            index: size1,
            size: size2,
        });
    }
    let mut out = Vec::new();
    if size1 == 0 || size1 == size2 {
        return Ok(out);
    }
    subproof(size1, 0, size2, true, &mut get, &mut out)?;
    Ok(out)
}

fn record(f: impl FnOnce(&mut dyn FnMut(NodeId) -> Option<Hash>)) -> Vec<NodeId> {
    let mut ids = Vec::new();
    f(&mut |id| {
        ids.push(id);
        Some([0; 32])
    });
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The perfect subtrees [`inclusion_proof`] reads.
pub fn inclusion_nodes(index: u64, size: u64) -> Vec<NodeId> {
    record(|get| {
        let _ = inclusion_proof(index, size, get);
    })
}

/// The perfect subtrees [`consistency_proof`] reads.
pub fn consistency_nodes(size1: u64, size2: u64) -> Vec<NodeId> {
    record(|get| {
        let _ = consistency_proof(size1, size2, get);
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use std::collections::HashMap;

    /// An in-memory node store built by appending, as the database does.
    pub(crate) fn build(n: u64) -> (Frontier, HashMap<NodeId, Hash>) {
        let mut f = Frontier::default();
        let mut nodes = HashMap::new();
        for i in 0..n {
            nodes.extend(f.append(leaf_hash(&i.to_be_bytes())));
        }
        (f, nodes)
    }

    /// RFC 6962 MTH straight from the definition, for comparison.
    pub(crate) fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn frontier_root_is_mth_and_reloads() {
        let mut leaves = Vec::new();
        let mut f = Frontier::default();
        let mut nodes = HashMap::new();
        for i in 0..130u64 {
            assert_eq!(f.root(), mth(&leaves), "size {i}");
            let ids = Frontier::ids(i);
            let reloaded =
                Frontier::from_nodes(i, ids.iter().map(|id| nodes[id]).collect()).unwrap();
            assert_eq!(reloaded, f);
            let l = leaf_hash(&i.to_be_bytes());
            leaves.push(l);
            nodes.extend(f.append(l));
        }
    }

    #[test]
    fn node_lists_cover_what_proofs_read() {
        let (_, nodes) = build(77);
        for size in 1..=77 {
            for i in 0..size {
                let ids = inclusion_nodes(i, size);
                let sub: HashMap<_, _> = ids.iter().map(|id| (*id, nodes[id])).collect();
                assert!(inclusion_proof(i, size, |id| sub.get(&id).copied()).is_ok());
                let ids = consistency_nodes(i, size);
                let sub: HashMap<_, _> = ids.iter().map(|id| (*id, nodes[id])).collect();
                assert!(consistency_proof(i, size, |id| sub.get(&id).copied()).is_ok());
            }
        }
        assert!(matches!(
            inclusion_proof(5, 5, |_| None),
            Err(Error::OutOfRange { index: 5, size: 5 })
        ));
    }
}
