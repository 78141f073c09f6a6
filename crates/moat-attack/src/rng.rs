//! Seeded randomness: one stream per sample, so results do not depend on which worker
//! thread attacks which sample, and the same seed gives the same report bit for bit.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream for sample `index` under `seed`.
    pub(crate) fn for_sample(seed: u64, index: u64) -> Self {
        let mut s = ChaCha8Rng::seed_from_u64(seed);
        s.set_stream(index.wrapping_add(1));
        Rng(s)
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0.gen::<f64>()
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.0.gen_range(0..n)
        }
    }

    pub(crate) fn sign(&mut self) -> f32 {
        if self.0.gen::<bool>() {
            1.0
        } else {
            -1.0
        }
    }

    /// Standard normal.
    pub(crate) fn normal(&mut self) -> f64 {
        // Ziggurat: a few nanoseconds a draw, where Box–Muller's logarithm and cosine
        // dominated the cost of HopSkipJump's probes.
        self.0.sample(rand_distr::StandardNormal)
    }

    /// A random permutation of `0..n` (Fisher–Yates).
    pub(crate) fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1);
            p.swap(i, j);
        }
        p
    }

    /// `k` distinct indices below `n`.
    pub(crate) fn choose(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut p = self.permutation(n);
        p.truncate(k.min(n));
        p
    }
}
