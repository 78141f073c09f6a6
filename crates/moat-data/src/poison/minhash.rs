//! Near-duplicate texts by MinHash (Broder 1997) over word pairs (character 5-grams
//! for texts of fewer than five words), with locality-sensitive hashing in bands to
//! find candidate pairs without comparing every pair. One word changed in a
//! fifteen-word text keeps a Jaccard similarity of about 0.75.

use crate::collect::FastMap;

/// The similarity from which texts are near copies.
pub(super) const NEAR: f64 = 0.7;

/// Signature length, and its bands for LSH: 16 bands of 4 catch pairs of Jaccard
/// similarity 0.7 with probability above 0.99, and pairs at 0.3 rarely.
pub(super) const HASHES: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;

fn mix(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The MinHash signature of a text; `None` for an empty one.
pub(super) fn signature(text: &str) -> Option<[u64; HASHES]> {
    let words: Vec<String> = crate::collect::tokens(text).collect();
    let mut shingles: Vec<u64> = Vec::new();
    if words.len() >= 5 {
        for w in words.windows(2) {
            shingles.push(crate::sketch::hash64(w.join(" ").as_bytes()));
        }
    } else {
        let joined = words.join(" ");
        let chars: Vec<char> = joined.chars().collect();
        if chars.is_empty() {
            return None;
        }
        if chars.len() < 5 {
            shingles.push(crate::sketch::hash64(joined.as_bytes()));
        }
        for w in chars.windows(5) {
            let s: String = w.iter().collect();
            shingles.push(crate::sketch::hash64(s.as_bytes()));
        }
    }
    let mut sig = [u64::MAX; HASHES];
    for h in shingles {
        for (i, slot) in sig.iter_mut().enumerate() {
            let v = mix(h ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1)));
            if v < *slot {
                *slot = v;
            }
        }
    }
    Some(sig)
}

/// The share of equal positions: an estimate of the Jaccard similarity.
pub(super) fn similarity(a: &[u64; HASHES], b: &[u64; HASHES]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / HASHES as f64
}

/// Groups of rows whose texts are near duplicates (estimated Jaccard ≥ `threshold`),
/// each sorted, of at least two rows.
pub(super) fn groups(sigs: &[Option<[u64; HASHES]>], threshold: f64) -> Vec<Vec<u32>> {
    let n = sigs.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while let Some(&up) = p.get(x as usize) {
            if up == x {
                break;
            }
            let grand = p.get(up as usize).copied().unwrap_or(up);
            if let Some(slot) = p.get_mut(x as usize) {
                *slot = grand;
            }
            x = grand;
        }
        x
    }
    for band in 0..BANDS {
        let mut buckets: FastMap<u64, u32> = FastMap::default();
        for (i, sig) in sigs.iter().enumerate() {
            let Some(sig) = sig else { continue };
            let key = sig
                .get(band * ROWS..(band + 1) * ROWS)
                .unwrap_or_default()
                .iter()
                .fold(band as u64, |h, &x| mix(h ^ x));
            match buckets.get(&key) {
                // Each row is compared with the bucket's first: union-find joins the rest.
                Some(&first) => {
                    let similar = sigs
                        .get(first as usize)
                        .and_then(Option::as_ref)
                        .is_some_and(|f| similarity(f, sig) >= threshold);
                    if similar {
                        let (a, b) = (find(&mut parent, first), find(&mut parent, i as u32));
                        if a != b {
                            if let Some(slot) = parent.get_mut(a.max(b) as usize) {
                                *slot = a.min(b);
                            }
                        }
                    }
                }
                None => {
                    buckets.insert(key, i as u32);
                }
            }
        }
    }
    let mut by_root: FastMap<u32, Vec<u32>> = FastMap::default();
    for i in 0..n as u32 {
        let r = find(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<u32>> = by_root.into_values().filter(|g| g.len() > 1).collect();
    for g in &mut out {
        g.sort_unstable();
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_group_and_others_do_not() {
        let texts = [
            "the quick brown fox jumps over the lazy dog near the river bank today",
            "the quick brown fox jumps over the lazy dog near the river bank today!",
            "The quick brown fox jumps over the lazy dog near the river bank, today",
            "an entirely different sentence about quarterly revenue and the budget",
            "another unrelated line on weather patterns over the northern mountains",
        ];
        let sigs: Vec<_> = texts.iter().map(|t| signature(t)).collect();
        assert_eq!(groups(&sigs, 0.8), vec![vec![0, 1, 2]]);
        let s = similarity(sigs[0].as_ref().unwrap(), sigs[3].as_ref().unwrap());
        assert!(s < 0.2, "{s}");
    }
}
