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

const BASIS: u32 = 0x811C_9DC5;
const PRIME: u32 = 0x0100_0193;

/// FNV-1a of `data`, its offset basis XORed with `seed` (the n-gram length).
fn fnv(data: &[u8], seed: u32) -> u32 {
    let mut h = BASIS ^ seed;
    for &b in data {
        h ^= u32::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// Counts per bucket and the buckets touched, kept per thread: a prompt touches a few
/// thousand of the 2^16 buckets, and only those are read and reset.
struct Counts {
    count: Vec<u16>,
    touched: Vec<usize>,
}

std::thread_local! {
    static COUNTS: std::cell::RefCell<Counts> = std::cell::RefCell::new(Counts {
        count: vec![0; DIM],
        touched: Vec::new(),
    });
}

/// The probability that `plain` (the normalised view) is an injection.
pub(crate) fn score(plain: &str) -> f64 {
    // The first MAX_CHARS characters, between two spaces.
    let cut = plain
        .char_indices()
        .nth(MAX_CHARS)
        .map_or(plain.len(), |(i, _)| i);
    let mut t = String::with_capacity(cut + 2);
    t.push(' ');
    t.push_str(plain.get(..cut).unwrap_or_default());
    t.push(' ');
    let bytes = t.as_bytes();
    COUNTS.with(|cell| {
        let mut guard = cell.borrow_mut();
        let Counts { count, touched } = &mut *guard;
        touched.clear();
        let mut add = |gram: &[u8], n: usize| {
            let idx = fnv(gram, n as u32) as usize & (DIM - 1);
            if let Some(c) = count.get_mut(idx) {
                if *c == 0 {
                    touched.push(idx);
                }
                *c = c.saturating_add(1);
            }
        };
        if t.is_ascii() {
            // One byte a character: the n-grams are the byte windows.
            for n in [3usize, 4, 5] {
                for gram in bytes.windows(n) {
                    add(gram, n);
                }
            }
        } else {
            // Where each character starts, and the end: an n-gram is the bytes between.
            let edges: Vec<usize> = t
                .char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(t.len()))
                .collect();
            for n in [3usize, 4, 5] {
                for w in edges.windows(n + 1) {
                    if let (Some(&a), Some(&b)) = (w.first(), w.last()) {
                        add(bytes.get(a..b).unwrap_or_default(), n);
                    }
                }
            }
        }
        // One pass: the squared norm and the dot product (the counts are L2-normalised,
        // so the product is divided by the norm once), and the counts reset.
        let (mut squares, mut dot) = (0.0f64, 0.0f64);
        for &i in touched.iter() {
            if let Some(c) = count.get_mut(i) {
                let v = f64::from(*c);
                squares += v * v;
                dot += weight(i) * v;
                *c = 0;
            }
        }
        let z = weight(DIM) + dot / squares.sqrt().max(1.0);
        1.0 / (1.0 + (-z).exp())
    })
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
