//! Proof verification, as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency)
//! state it.

use crate::hash::{node_hash, Hash};

/// Whether `proof` shows the leaf with hash `leaf` at `index` in the tree of `size`
/// leaves with root `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Whether `proof` shows that the tree of `size1` leaves with root `root1` is a prefix
/// of the tree of `size2` leaves with root `root2`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> bool {
    if size1 > size2 {
        return false;
    }
    if size1 == size2 {
        return proof.is_empty() && root1 == root2;
    }
    if size1 == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *root1 && sr == *root2 && sn == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::tests::{build, mth};
    use crate::tree::{consistency_proof, inclusion_proof};
    use proptest::prelude::*;

    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        let (_, nodes) = build(70);
        let leaves: Vec<Hash> = (0..70u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for size in 1..=70u64 {
            let root = mth(&leaves[..size as usize]);
            for i in 0..size {
                let p = inclusion_proof(i, size, |id| nodes.get(&id).copied()).unwrap();
                assert!(verify_inclusion(i, size, &leaves[i as usize], &p, &root));
                assert!(!verify_inclusion(i, size, &leaf_hash(b"x"), &p, &root));
                if let Some((_, shorter)) = p.split_last() {
                    assert!(!verify_inclusion(
                        i,
                        size,
                        &leaves[i as usize],
                        shorter,
                        &root
                    ));
                }
                let root1 = mth(&leaves[..i as usize]);
                let c = consistency_proof(i, size, |id| nodes.get(&id).copied()).unwrap();
                assert!(verify_consistency(i, size, &root1, &root, &c), "{i} {size}");
                if i > 0 && i < size {
                    assert!(!verify_consistency(i, size, &leaf_hash(b"x"), &root, &c));
                    assert!(!verify_consistency(i, size, &root1, &leaf_hash(b"x"), &c));
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn proofs_verify_for_any_size(size in 1u64..3000, seed in any::<u64>()) {
            let (f, nodes) = build(size);
            let index = seed % size;
            let p = inclusion_proof(index, size, |id| nodes.get(&id).copied()).unwrap();
            prop_assert!(verify_inclusion(index, size, &leaf_hash(&index.to_be_bytes()), &p, &f.root()));
            let (f1, _) = build(index);
            let c = consistency_proof(index, size, |id| nodes.get(&id).copied()).unwrap();
            prop_assert!(verify_consistency(index, size, &f1.root(), &f.root(), &c));
        }
    }
}
