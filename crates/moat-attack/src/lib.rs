//! Moat's adversarial engine: query-only attacks on classifiers, membership inference,
//! permutation importance and LLM probes.
//!
//! A classifier is anything that implements [`Classifier`]: an ONNX file run in-process
//! ([`onnx::OnnxClassifier`], tract) or, in the `moat` binary, an HTTP endpoint. Attacks
//! see it only through an [`oracle::Oracle`], which counts every evaluated row as one
//! query, keeps the best adversarial point found so far and its anytime trace.
//!
//! ```text
//! let model = OnnxClassifier::from_bytes(&bytes)?;
//! let report = run(&model, &samples, &labels, &Settings::new(AttackKind::HopSkipJump))?;
//! ```

pub mod array;
pub mod attacks;
pub mod explain;
pub mod gate;
pub mod membership;
pub mod model;
pub mod onnx;
pub mod oracle;
pub mod probes;
pub mod report;
mod rng;

pub use attacks::{run, AttackKind, Norm, Settings};
pub use model::{Classifier, Output};
pub use report::Report;

/// What went wrong running an attack: the job could not be done (a finding is not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot load the ONNX model: {0}")]
    Model(String),
    #[error("the model failed on a batch of {rows} rows: {message}")]
    Predict { rows: usize, message: String },
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Endpoint(String),
}
