//! The classifier the attacks query: rows in, probabilities or labels out.

use crate::Error;

/// What a model returned for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `rows × classes` scores, row-major. The decision is their argmax.
    Probabilities { classes: usize, values: Vec<f32> },
    /// One class index per row (decision-only models and endpoints).
    Labels(Vec<usize>),
}

impl Output {
    /// The decided class of each row: the argmax of its scores (the first on ties),
    /// or the label itself.
    pub fn decisions(&self) -> Vec<usize> {
        match self {
            Output::Labels(l) => l.clone(),
            Output::Probabilities { classes, values } => {
                values.chunks(*classes.max(&1)).map(argmax).collect()
            }
        }
    }

    pub fn rows(&self) -> usize {
        match self {
            Output::Labels(l) => l.len(),
            Output::Probabilities { classes, values } => values.len() / classes.max(&1),
        }
    }

    /// The scores of row `i`, when the model gives scores.
    pub fn scores(&self, i: usize) -> Option<&[f32]> {
        match self {
            Output::Labels(_) => None,
            Output::Probabilities { classes, values } => values.get(i * classes..(i + 1) * classes),
        }
    }
}

/// Index of the largest value; NaN never wins.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    let mut top = f32::NEG_INFINITY;
    for (i, &x) in v.iter().enumerate() {
        if x > top {
            top = x;
            best = i;
        }
    }
    best
}

/// A classifier that can be queried with batches of rows. Implementations are shared by
/// the worker threads that attack samples in parallel.
pub trait Classifier: Sync {
    /// The shape of one input row: `[d]` for tabular models, `[c, h, w]` for images.
    fn input_shape(&self) -> &[usize];

    /// Number of values in one row.
    fn row_len(&self) -> usize {
        self.input_shape().iter().product()
    }

    /// Evaluates `rows.len() / row_len()` rows (row-major).
    fn predict(&self, rows: &[f32]) -> Result<Output, Error>;

    /// Whether `predict` returns scores (score-based attacks need them).
    fn gives_scores(&self) -> bool;

    /// The most rows one call should carry (an endpoint's batch size).
    fn max_batch(&self) -> usize {
        1024
    }

    /// Evaluates any number of rows, `max_batch` at a time.
    fn predict_all(&self, rows: &[f32]) -> Result<Output, Error> {
        let len = self.row_len().max(1);
        let step = self.max_batch().max(1) * len;
        if rows.len() <= step {
            return self.predict(rows);
        }
        let mut labels = Vec::new();
        let mut values = Vec::new();
        let mut classes = None;
        for chunk in rows.chunks(step) {
            match self.predict(chunk)? {
                Output::Labels(l) => labels.extend(l),
                Output::Probabilities {
                    classes: k,
                    values: v,
                } => {
                    classes = Some(k);
                    values.extend(v);
                }
            }
        }
        Ok(match classes {
            Some(classes) => Output::Probabilities { classes, values },
            None => Output::Labels(labels),
        })
    }
}
