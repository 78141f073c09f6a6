//! The trained layer of prompt-injection detection: logistic regression over hashed
//! character 3-, 4- and 5-grams of the normalised text (FNV-1a, 2^16 buckets, L2
//! normalised counts). The weights are trained by `train/train_injection.py` and ship
//! in `injection_weights.bin` (256 KiB); `tests/data/classifier_vectors.jsonl` holds
//! scores that script computed, which the tests reproduce.

const DIM: usize = 1 << 16;
const MAX_CHARS: usize = 4096;
static WEIGHTS: &[u8] = include_bytes!("injection_weights.bin");

fn weight(i: usize) -> f64 {
    WEIGHTS
        .get(i * 4..i * 4 + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0.0, |b: [u8; 4]| f64::from(f32::from_le_bytes(b)))
}

fn fnv(data: &[u8], seed: u32) -> u32 {
    let mut h = 0x811C_9DC5u32 ^ seed;
    for &b in data {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A hasher for already-hashed `usize` keys: one multiplication spreads their bits.
#[derive(Default)]
struct Identity(u64);

impl std::hash::Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The probability that `plain` (the normalised view) is an injection.
pub(crate) fn score(plain: &str) -> f64 {
    let mut t = String::with_capacity(plain.len().min(MAX_CHARS * 4) + 2);
    t.push(' ');
    t.extend(plain.chars().take(MAX_CHARS));
    t.push(' ');
    let chars: Vec<(usize, char)> = t.char_indices().collect();
    // The keys are hashes already: no need to hash them again.
    let mut counts: std::collections::HashMap<usize, f64, std::hash::BuildHasherDefault<Identity>> =
        std::collections::HashMap::with_capacity_and_hasher(4096, Default::default());
    for n in [3usize, 4, 5] {
        for w in chars.windows(n) {
            let (Some(&(a, _)), Some(&(b, c))) = (w.first(), w.last()) else {
                continue;
            };
            let gram = t.get(a..b + c.len_utf8()).unwrap_or_default();
            let idx = fnv(gram.as_bytes(), n as u32) as usize & (DIM - 1);
            *counts.entry(idx).or_insert(0.0) += 1.0;
        }
    }
    let norm = counts.values().map(|v| v * v).sum::<f64>().sqrt().max(1.0);
    let z = weight(DIM)
        + counts
            .iter()
            .map(|(&i, &v)| weight(i) * v / norm)
            .sum::<f64>();
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_are_all_there() {
        assert_eq!(WEIGHTS.len(), (DIM + 1) * 4);
    }

    #[test]
    fn reproduces_the_training_script() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/classifier_vectors.jsonl"
        );
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = v["text"].as_str().unwrap();
            let want = v["score"].as_f64().unwrap();
            let got = score(&crate::normalize::views(text).plain);
            assert!((got - want).abs() < 1e-4, "{got} vs {want}: {text:.80}");
        }
    }
}
