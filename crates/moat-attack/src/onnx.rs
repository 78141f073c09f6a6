//! ONNX classifiers run in-process with tract.
//!
//! Exports from scikit-learn (skl2onnx) often end in `ZipMap`, which turns the
//! probability tensor into a sequence of maps, and compute their label output through
//! `ArrayFeatureExtractor`; tract runs neither. Before loading, the graph is cut down to
//! the one output the attacks need: the probability tensor (the input of `ZipMap` when
//! there is one), or the label tensor of a decision-only model. Nodes nothing reads any
//! more are dropped. Inputs are `float` (or `double`, converted) of shape `[N, d]` or
//! `[N, c, h, w]` with a free batch dimension.

use std::collections::HashSet;
use std::sync::Arc;

use tract_onnx::pb;
use tract_onnx::prelude::*;

use crate::model::{Classifier, Output};
use crate::Error;

const FLOAT: i32 = 1;
const INT64: i32 = 7;
const INT32: i32 = 6;
const DOUBLE: i32 = 11;

/// The largest model file accepted (larger files are refused before parsing).
pub const MAX_MODEL_BYTES: usize = 1 << 30;

/// An ONNX classifier, optimised once and shared by every worker thread.
pub struct OnnxClassifier {
    plan: Arc<TypedRunnableModel>,
    /// Execution states kept for reuse: building one per call allocated every node's
    /// state again, which dominated single-row queries (binary searches).
    states: std::sync::Mutex<Vec<TypedSimpleState>>,
    shape: Vec<usize>,
    double_input: bool,
    gives_scores: bool,
    /// The graph output the attacks read, for reports.
    pub output_name: String,
}

impl std::fmt::Debug for OnnxClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxClassifier")
            .field("shape", &self.shape)
            .field("output", &self.output_name)
            .finish()
    }
}

fn model_err(e: impl std::fmt::Display) -> Error {
    Error::Model(format!("{e:#}"))
}

impl OnnxClassifier {
    /// Loads a model from the bytes of an `.onnx` file. A malformed file is an error, also
    /// where the ONNX library would panic on it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Self::load(bytes))).unwrap_or_else(
            |_| {
                Err(Error::Model(
                    "the ONNX library failed on this file (it is malformed or uses something \
                     it cannot run)"
                        .into(),
                ))
            },
        )
    }

    fn load(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(Error::Model(format!(
                "the file has {} bytes, more than the {MAX_MODEL_BYTES} accepted",
                bytes.len()
            )));
        }
        let onnx = tract_onnx::onnx();
        let mut reader = bytes;
        let mut proto = onnx.proto_model_for_read(&mut reader).map_err(model_err)?;
        let graph = proto
            .graph
            .as_mut()
            .ok_or_else(|| Error::Model("the file holds no graph".into()))?;
        let (output_name, gives_scores) = prune_to_decision_output(graph)?;
        let (shape, double_input) = input_shape(graph)?;
        let mut model = onnx.model_for_proto_model(&proto).map_err(model_err)?;
        let batch = model.symbols.sym("N");
        let mut dims: Vec<TDim> = vec![batch.into()];
        dims.extend(shape.iter().map(|&d| TDim::from(d as i64)));
        let dt = if double_input {
            f64::datum_type()
        } else {
            f32::datum_type()
        };
        model = model
            .with_input_fact(0, InferenceFact::dt_shape(dt, dims))
            .map_err(model_err)?;
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(model_err)?;
        Ok(Self {
            plan,
            states: std::sync::Mutex::new(Vec::new()),
            shape,
            double_input,
            gives_scores,
            output_name,
        })
    }
}

/// Keeps one graph output: the probabilities (through `ZipMap` when present), else the
/// labels. Returns its name and whether it carries scores.
fn prune_to_decision_output(graph: &mut pb::GraphProto) -> Result<(String, bool), Error> {
    let producer = |name: &str| {
        graph
            .node
            .iter()
            .find(|n| n.output.iter().any(|o| o == name))
    };
    let elem = |v: &pb::ValueInfoProto| {
        v.r#type
            .as_ref()
            .and_then(|t| t.value.as_ref())
            .map(|pb::type_proto::Value::TensorType(t)| t.elem_type)
    };
    let mut chosen: Option<(String, bool)> = None;
    for out in &graph.output {
        if let Some(z) = producer(&out.name).filter(|n| n.op_type == "ZipMap") {
            let input = z.input.first().cloned().unwrap_or_default();
            chosen = Some((input, true));
            break;
        }
    }
    if chosen.is_none() {
        chosen = graph
            .output
            .iter()
            .find(|o| matches!(elem(o), Some(FLOAT | DOUBLE)))
            .map(|o| (o.name.clone(), true));
    }
    if chosen.is_none() {
        chosen = graph
            .output
            .iter()
            .find(|o| matches!(elem(o), Some(INT64 | INT32)))
            .map(|o| (o.name.clone(), false));
    }
    let Some((name, scores)) = chosen else {
        return Err(Error::Model(
            "no output gives probabilities (a float tensor, or a ZipMap) or labels (an integer tensor)"
                .into(),
        ));
    };
    // Keep the nodes the chosen output depends on, in their order.
    let mut needed: HashSet<String> = HashSet::from([name.clone()]);
    let mut keep = vec![false; graph.node.len()];
    for (i, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o)) {
            keep[i] = true;
            needed.extend(node.input.iter().filter(|s| !s.is_empty()).cloned());
        }
    }
    let mut i = 0;
    graph.node.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    graph.output = vec![pb::ValueInfoProto {
        name: name.clone(),
        ..Default::default()
    }];
    Ok((name, scores))
}

/// The shape of one input row and whether the model takes doubles.
fn input_shape(graph: &pb::GraphProto) -> Result<(Vec<usize>, bool), Error> {
    let inits: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !inits.contains(i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(Error::Model(format!(
            "the model has {} inputs; Moat attacks models with one input tensor (export the pipeline with a single float input)",
            inputs.len()
        )));
    };
    let Some(pb::type_proto::Value::TensorType(t)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(Error::Model(format!(
            "input `{}` is not a tensor",
            input.name
        )));
    };
    let double = match t.elem_type {
        FLOAT => false,
        DOUBLE => true,
        other => {
            return Err(Error::Model(format!(
                "input `{}` has element type {other}; Moat feeds float or double tensors",
                input.name
            )))
        }
    };
    let dims = t
        .shape
        .as_ref()
        .map(|s| s.dim.as_slice())
        .unwrap_or_default();
    if dims.len() < 2 {
        return Err(Error::Model(format!(
            "input `{}` has rank {}; expected [N, d] or [N, c, h, w]",
            input.name,
            dims.len()
        )));
    }
    let mut shape = Vec::new();
    for (i, d) in dims.iter().enumerate().skip(1) {
        match d.value {
            Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if v > 0 => {
                shape.push(v as usize)
            }
            _ => {
                return Err(Error::Model(format!(
                "dimension {i} of input `{}` is not fixed; only the batch dimension may be free",
                input.name
            )))
            }
        }
    }
    Ok((shape, double))
}

impl Classifier for OnnxClassifier {
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }

    fn gives_scores(&self) -> bool {
        self.gives_scores
    }

    fn predict(&self, rows: &[f32]) -> Result<Output, Error> {
        let len = self.row_len().max(1);
        let n = rows.len() / len;
        let fail = |e: TractError| Error::Predict {
            rows: n,
            message: format!("{e:#}"),
        };
        let mut shape = vec![n];
        shape.extend(&self.shape);
        let tensor = if self.double_input {
            let doubles: Vec<f64> = rows.iter().map(|&x| f64::from(x)).collect();
            Tensor::from_shape(&shape, &doubles).map_err(fail)?
        } else {
            Tensor::from_shape(&shape, rows).map_err(fail)?
        };
        let pooled = self.states.lock().ok().and_then(|mut v| v.pop());
        let mut state = match pooled {
            Some(s) => s,
            None => self.plan.spawn().map_err(fail)?,
        };
        // A hostile graph may make the ONNX library panic at run time: that is a failed
        // prediction, not a crash (the state is dropped, not pooled).
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            state.run(tvec!(tensor.into()))
        }));
        let outputs = match run {
            Ok(r) => r.map_err(fail)?,
            Err(_) => {
                return Err(Error::Predict {
                    rows: n,
                    message: "the ONNX library failed running this model".into(),
                })
            }
        };
        if let Ok(mut v) = self.states.lock() {
            if v.len() < 64 {
                v.push(state);
            }
        }
        let out = outputs.first().ok_or_else(|| Error::Predict {
            rows: n,
            message: "no output".into(),
        })?;
        let bad = |what: String| Error::Predict {
            rows: n,
            message: what,
        };
        if self.gives_scores {
            let f = out.cast_to::<f32>().map_err(fail)?;
            let values: Vec<f32> = f
                .to_plain_array_view::<f32>()
                .map_err(fail)?
                .iter()
                .copied()
                .collect();
            let classes = match out.shape() {
                [m, k] if *m == n => *k,
                [m] if *m == n => 1,
                s => return Err(bad(format!("the probability output has shape {s:?}"))),
            };
            if classes == 1 {
                // One score per row: the probability of the second class.
                let values = values.iter().flat_map(|&p| [1.0 - p, p]).collect();
                return Ok(Output::Probabilities { classes: 2, values });
            }
            Ok(Output::Probabilities { classes, values })
        } else {
            let l = out.cast_to::<i64>().map_err(fail)?;
            let labels: Vec<i64> = l
                .to_plain_array_view::<i64>()
                .map_err(fail)?
                .iter()
                .copied()
                .collect();
            if labels.len() != n {
                return Err(bad(format!("{} labels for {n} rows", labels.len())));
            }
            labels
                .iter()
                .map(|&v| usize::try_from(v).map_err(|_| bad(format!("negative label {v}"))))
                .collect::<Result<Vec<_>, _>>()
                .map(Output::Labels)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str) -> OnnxClassifier {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        OnnxClassifier::from_bytes(&std::fs::read(path).expect("fixture")).expect("loads")
    }

    #[test]
    fn loads_plain_zipmap_tree_and_image_models() {
        for (name, shape, classes) in [
            ("linear2.onnx", vec![4], 2),
            ("digits_logreg_zipmap.onnx", vec![64], 10),
            ("digits_mlp.onnx", vec![64], 10),
            ("tab_rf_overfit.onnx", vec![8], 2),
            ("tab_logreg_regular.onnx", vec![8], 2),
            ("convnet.onnx", vec![1, 8, 8], 4),
        ] {
            let m = load(name);
            assert_eq!(m.input_shape(), shape.as_slice(), "{name}");
            assert!(m.gives_scores(), "{name}");
            let rows = vec![0.5f32; 3 * m.row_len()];
            let Output::Probabilities { classes: k, values } = m.predict(&rows).expect(name) else {
                panic!("{name}: no probabilities")
            };
            assert_eq!(k, classes, "{name}");
            assert_eq!(values.len(), 3 * classes, "{name}");
            let sum: f32 = values[..classes].iter().sum();
            assert!(
                (sum - 1.0).abs() < 1e-3,
                "{name}: probabilities sum to {sum}"
            );
        }
    }

    #[test]
    fn tree_ensembles_split_with_every_comparator() {
        // One BRANCH_GTE split (the vendored tract fix): class 2 from x[0] = 0.5 up,
        // class 0 below, as onnxruntime decides. Unpatched tract read the split as a leaf.
        let m = load("tree_gte.onnx");
        let out = m
            .predict(&[0.7, 0.0, 0.2, 0.0, 0.5, 0.0, 0.49, 1.0])
            .expect("predicts");
        assert_eq!(out.decisions(), vec![2, 0, 2, 0]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"not a model", &[0xff; 64][..]] {
            assert!(OnnxClassifier::from_bytes(bytes).is_err());
        }
    }
}
