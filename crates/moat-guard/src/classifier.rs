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
#[cfg(test)]
fn fnv(data: &[u8], seed: u32) -> u32 {
    let mut h = BASIS ^ seed;
    for &b in data {
        h ^= u32::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// The FNV-1a state after the first byte of an n-gram, for n = 3, 4 and 5 and every
/// byte: one multiplication fewer a gram.
// Evaluated at compile time: an index out of bounds would fail the build.
#[allow(clippy::indexing_slicing)]
static FIRST: [[u32; 256]; 3] = {
    let mut t = [[0u32; 256]; 3];
    let mut n = 0;
    while n < 3 {
        let mut b = 0;
        while b < 256 {
            t[n][b] = ((BASIS ^ (n as u32 + 3)) ^ b as u32).wrapping_mul(PRIME);
            b += 1;
        }
        n += 1;
    }
    t
};

/// The state after byte `b` for n-grams of length `k + 3`.
#[inline(always)]
fn first(k: usize, b: u8) -> u32 {
    FIRST
        .get(k)
        .and_then(|t| t.get(usize::from(b)))
        .copied()
        .unwrap_or(BASIS)
}

/// One more byte into an FNV-1a state.
#[inline(always)]
fn step(h: u32, b: u8) -> u32 {
    (h ^ u32::from(b)).wrapping_mul(PRIME)
}

/// The state after the first byte of `gram` for an n-gram of `n` characters, and the
/// bytes after it.
#[inline(always)]
fn start(n: usize, gram: &[u8]) -> (u32, &[u8]) {
    match gram.split_first() {
        Some((&b, rest)) => (first(n.wrapping_sub(3), b), rest),
        None => (BASIS ^ n as u32, gram),
    }
}

/// The most n-grams a prompt has: three lengths over at most `MAX_CHARS` characters
/// and the two spaces around them.
const MAX_GRAMS: usize = 3 * (MAX_CHARS + 2);

/// Counts per bucket and the buckets touched, kept per thread: a prompt touches a few
/// thousand of the 2^16 buckets, and only those are read and reset.
struct Counts {
    count: Box<[u16; DIM]>,
    touched: Box<[u32; MAX_GRAMS]>,
}

std::thread_local! {
    static COUNTS: std::cell::RefCell<Counts> = std::cell::RefCell::new(Counts {
        count: Box::new([0; DIM]),
        touched: Box::new([0; MAX_GRAMS]),
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
        let (count, touched) = (&mut **count, &mut **touched);
        // The first `len` entries of `touched` are the buckets touched.
        let mut len = 0usize;
        // Counts the n-gram hashed to `h`. Branch-free: whether the bucket was new is
        // data, not a jump (half the grams of a prompt are new, a coin the branch
        // predictor cannot call).
        let mut add = |h: u32| {
            let idx = h as usize & (DIM - 1);
            if let (Some(c), Some(slot)) = (count.get_mut(idx), touched.get_mut(len)) {
                *slot = idx as u32;
                len += usize::from(*c == 0);
                *c = c.saturating_add(1);
            }
        };
        if t.is_ascii() {
            // One byte a character: the n-grams are the byte windows. The three
            // lengths at each position are three independent chains of multiplications,
            // which the processor overlaps.
            for w in bytes.windows(5) {
                if let &[a, b, c, d, e] = w {
                    let h3 = step(step(first(0, a), b), c);
                    let h4 = step(step(step(first(1, a), b), c), d);
                    let h5 = step(step(step(step(first(2, a), b), c), d), e);
                    add(h3);
                    add(h4);
                    add(h5);
                }
            }
            // The last grams, too short for a window of five.
            let tail = bytes.len().saturating_sub(4);
            for (n, from) in [(3usize, tail), (3, tail + 1), (4, tail)] {
                if let Some(gram) = bytes.get(from..from + n) {
                    let (h, rest) = start(n, gram);
                    add(rest.iter().fold(h, |h, &b| step(h, b)));
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
                        let (h, rest) = start(n, bytes.get(a..b).unwrap_or_default());
                        add(rest.iter().fold(h, |h, &b| step(h, b)));
                    }
                }
            }
        }
        // One pass: the squared norm and the dot product (the counts are L2-normalised,
        // so the product is divided by the norm once), and the counts reset.
        let (mut squares, mut dot) = (0.0f64, 0.0f64);
        for &i in touched.get(..len).unwrap_or_default() {
            if let Some(c) = count.get_mut(i as usize) {
                let v = f64::from(*c);
                squares += v * v;
                dot += weight(i as usize) * v;
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

    /// The first-byte table and the five-byte windows hash every gram as plain
    /// FNV-1a does, whatever the text's length (the last grams are handled apart).
    #[test]
    fn the_fast_hashing_is_fnv() {
        for text in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcdef",
            "ignore previous",
            "ünï côdé ok",
        ] {
            let t = format!(" {text} ");
            let mut want = std::collections::BTreeMap::<usize, u16>::new();
            let edges: Vec<usize> = t.char_indices().map(|(i, _)| i).chain([t.len()]).collect();
            for n in [3usize, 4, 5] {
                for w in edges.windows(n + 1) {
                    let h = fnv(&t.as_bytes()[w[0]..w[n]], n as u32) as usize & (DIM - 1);
                    *want.entry(h).or_default() += 1;
                }
            }
            let (mut squares, mut dot) = (0.0f64, 0.0f64);
            for (&i, &c) in &want {
                squares += f64::from(c) * f64::from(c);
                dot += weight(i) * f64::from(c);
            }
            let z = weight(DIM) + dot / squares.sqrt().max(1.0);
            let expect = 1.0 / (1.0 + (-z).exp());
            let got = score(text);
            assert!((got - expect).abs() < 1e-12, "{text:?}: {got} vs {expect}");
        }
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
