//! Isolation forest (Liu, Ting and Zhou 2008): random axis-parallel splits isolate an
//! outlier in fewer steps than an ordinary point. The score of a point is
//! `2^(-E[h(x)] / c(ψ))`: about 0.5 for ordinary points, toward 1 for outliers.
//! Deterministic (a seeded generator), so a run repeats.

pub(super) struct Forest {
    trees: Vec<Vec<Node>>,
    dim: usize,
    sample: usize,
}

#[derive(Clone, Copy)]
enum Node {
    Split {
        axis: usize,
        value: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        size: usize,
    },
}

/// Trees and points per tree, as the paper recommends.
pub(super) const TREES: usize = 100;
pub(super) const SAMPLE: usize = 256;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The average path length of an unsuccessful search in a binary search tree of `n`.
fn c(n: usize) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let n = n as f64;
    2.0 * ((n - 1.0).ln() + 0.577_215_664_9) - 2.0 * (n - 1.0) / n
}

impl Forest {
    /// A forest over `points` (row-major, `dim` each).
    pub(super) fn fit(points: &[f64], dim: usize, seed: u64) -> Forest {
        let n = points.len().checked_div(dim).unwrap_or(0);
        let sample = SAMPLE.min(n);
        let mut rng = Rng(seed | 1);
        let limit = (sample.max(2) as f64).log2().ceil() as usize;
        let mut trees = Vec::with_capacity(TREES);
        if n > 0 {
            for _ in 0..TREES {
                let idx: Vec<usize> = (0..sample).map(|_| rng.below(n)).collect();
                let mut nodes = Vec::new();
                grow(points, dim, idx, 0, limit, &mut rng, &mut nodes);
                trees.push(nodes);
            }
        }
        Forest { trees, dim, sample }
    }

    pub(super) fn score(&self, x: &[f64]) -> f64 {
        if self.trees.is_empty() || x.len() != self.dim {
            return 0.5;
        }
        let mut total = 0.0;
        for t in &self.trees {
            let mut node = 0usize;
            let mut depth = 0.0;
            loop {
                match t.get(node) {
                    Some(Node::Split {
                        axis,
                        value,
                        left,
                        right,
                    }) => {
                        depth += 1.0;
                        node = if x.get(*axis).copied().unwrap_or(0.0) < *value {
                            *left
                        } else {
                            *right
                        };
                    }
                    Some(Node::Leaf { size }) => {
                        depth += c(*size);
                        break;
                    }
                    None => break,
                }
            }
            total += depth;
        }
        let mean = total / self.trees.len() as f64;
        2f64.powf(-mean / c(self.sample).max(1e-9))
    }
}

fn grow(
    points: &[f64],
    dim: usize,
    idx: Vec<usize>,
    depth: usize,
    limit: usize,
    rng: &mut Rng,
    nodes: &mut Vec<Node>,
) -> usize {
    let id = nodes.len();
    nodes.push(Node::Leaf { size: idx.len() });
    if idx.len() <= 1 || depth >= limit {
        return id;
    }
    let at = |i: usize, a: usize| points.get(i * dim + a).copied().unwrap_or(0.0);
    // A random axis among those that still vary.
    let ranges: Vec<(usize, f64, f64)> = (0..dim)
        .filter_map(|a| {
            let (lo, hi) = idx
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                    (lo.min(at(i, a)), hi.max(at(i, a)))
                });
            (hi > lo).then_some((a, lo, hi))
        })
        .collect();
    if ranges.is_empty() {
        return id;
    }
    let Some(&(axis, lo, hi)) = ranges.get(rng.below(ranges.len())) else {
        return id;
    };
    let value = lo + rng.unit() * (hi - lo);
    let (l, r): (Vec<usize>, Vec<usize>) = idx.into_iter().partition(|&i| at(i, axis) < value);
    let left = grow(points, dim, l, depth + 1, limit, rng, nodes);
    let right = grow(points, dim, r, depth + 1, limit, rng, nodes);
    if let Some(n) = nodes.get_mut(id) {
        *n = Node::Split {
            axis,
            value,
            left,
            right,
        };
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outlier_scores_above_the_crowd() {
        let mut r = Rng(3);
        let mut pts: Vec<f64> = (0..2000 * 3).map(|_| r.unit()).collect();
        pts.extend([8.0, 8.0, 8.0]);
        let f = Forest::fit(&pts, 3, 1);
        let out = f.score(&[8.0, 8.0, 8.0]);
        let inner = f.score(&[0.5, 0.5, 0.5]);
        assert!(out > 0.65 && inner < 0.5, "{out} {inner}");
    }
}
