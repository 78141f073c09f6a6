//! Exact k nearest neighbours by a k-d tree over points of any (runtime) dimension,
//! Euclidean distance. Built once over a point set; queries return indices into it.

/// Points stored row-major: `dim` coordinates each.
pub(super) struct KdTree<'a> {
    points: &'a [f64],
    dim: usize,
    /// Point indices, permuted into tree order.
    order: Vec<u32>,
    nodes: Vec<Node>,
}

#[derive(Clone, Copy)]
struct Node {
    /// Range of `order` below this node.
    start: u32,
    end: u32,
    /// Split axis and value (a leaf when `left == u32::MAX`).
    axis: u16,
    split: f64,
    left: u32,
    right: u32,
}

const LEAF: usize = 16;

impl<'a> KdTree<'a> {
    pub(super) fn new(points: &'a [f64], dim: usize) -> Self {
        let n = points.len().checked_div(dim).unwrap_or(0);
        let mut t = KdTree {
            points,
            dim,
            order: (0..n as u32).collect(),
            nodes: Vec::new(),
        };
        if n > 0 {
            t.build(0, n);
        }
        t
    }

    fn coord(&self, i: u32, axis: usize) -> f64 {
        self.points
            .get(i as usize * self.dim + axis)
            .copied()
            .unwrap_or(0.0)
    }

    /// Builds the node over `order[start..end]`; returns its index.
    fn build(&mut self, start: usize, end: usize) -> u32 {
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            start: start as u32,
            end: end as u32,
            axis: 0,
            split: 0.0,
            left: u32::MAX,
            right: u32::MAX,
        });
        if end - start <= LEAF {
            return id;
        }
        // Split on the axis of widest spread, at the median.
        let mut best = (0usize, -1.0f64);
        for axis in 0..self.dim {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &i in self.order.get(start..end).unwrap_or_default() {
                let v = self.coord(i, axis);
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if hi - lo > best.1 {
                best = (axis, hi - lo);
            }
        }
        let (axis, spread) = best;
        if spread <= 0.0 {
            return id; // every point the same: one leaf
        }
        let mid = start + (end - start) / 2;
        let dim = self.dim;
        let points = self.points;
        if let Some(slice) = self.order.get_mut(start..end) {
            slice.select_nth_unstable_by(mid - start, |&a, &b| {
                let va = points.get(a as usize * dim + axis).copied().unwrap_or(0.0);
                let vb = points.get(b as usize * dim + axis).copied().unwrap_or(0.0);
                va.total_cmp(&vb)
            });
        }
        let split = self.order.get(mid).map_or(0.0, |&i| self.coord(i, axis));
        let left = self.build(start, mid);
        let right = self.build(mid, end);
        if let Some(n) = self.nodes.get_mut(id as usize) {
            n.axis = axis as u16;
            n.split = split;
            n.left = left;
            n.right = right;
        }
        id
    }

    /// The `k` nearest points to `q` (excluding index `skip`), nearest first:
    /// (index, squared distance).
    pub(super) fn nearest(&self, q: &[f64], k: usize, skip: Option<u32>) -> Vec<(u32, f64)> {
        let mut best: Vec<(u32, f64)> = Vec::with_capacity(k + 1);
        if !self.nodes.is_empty() && k > 0 {
            self.search(0, q, k, skip, &mut best);
        }
        best
    }

    fn search(
        &self,
        node: u32,
        q: &[f64],
        k: usize,
        skip: Option<u32>,
        best: &mut Vec<(u32, f64)>,
    ) {
        let Some(n) = self.nodes.get(node as usize).copied() else {
            return;
        };
        if n.left == u32::MAX {
            for &i in self
                .order
                .get(n.start as usize..n.end as usize)
                .unwrap_or_default()
            {
                if Some(i) == skip {
                    continue;
                }
                let d = self.dist2(i, q);
                if best.len() < k || best.last().is_some_and(|w| d < w.1) {
                    let pos = best.partition_point(|x| x.1 <= d);
                    best.insert(pos, (i, d));
                    best.truncate(k);
                }
            }
            return;
        }
        let diff = q.get(n.axis as usize).copied().unwrap_or(0.0) - n.split;
        let (near, far) = if diff < 0.0 {
            (n.left, n.right)
        } else {
            (n.right, n.left)
        };
        self.search(near, q, k, skip, best);
        if best.len() < k || best.last().is_some_and(|w| diff * diff < w.1) {
            self.search(far, q, k, skip, best);
        }
    }

    fn dist2(&self, i: u32, q: &[f64]) -> f64 {
        let start = i as usize * self.dim;
        self.points
            .get(start..start + self.dim)
            .unwrap_or_default()
            .iter()
            .zip(q)
            .map(|(a, b)| (a - b) * (a - b))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_brute_force() {
        let mut x = 7u64;
        let mut r = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let dim = 5;
        let pts: Vec<f64> = (0..3000 * dim)
            .map(|_| (r() * 10.0).round() / 2.0)
            .collect();
        let t = KdTree::new(&pts, dim);
        for qi in (0..3000u32).step_by(97) {
            let q = &pts[qi as usize * dim..(qi as usize + 1) * dim];
            let got = t.nearest(q, 7, Some(qi));
            let mut all: Vec<(u32, f64)> = (0..3000u32)
                .filter(|&i| i != qi)
                .map(|i| (i, t.dist2(i, q)))
                .collect();
            all.sort_by(|a, b| a.1.total_cmp(&b.1));
            let want: Vec<f64> = all.iter().take(7).map(|x| x.1).collect();
            let have: Vec<f64> = got.iter().map(|x| x.1).collect();
            assert_eq!(have, want);
        }
    }
}
