//! The model-artifact scanner of Moat. It never imports or executes artifact code:
//! pickles are *simulated* opcode by opcode, and what they import and call is judged
//! against an allow list of safe constructors and a deny list of dangerous callables.
//!
//! This is the first part of the scanner: the pickle engine (`formats::pickle`) and the
//! judgement of globals (`checks::globals`). Containers (PyTorch zips, NumPy, Keras,
//! ONNX, safetensors, GGUF) and the `moat scan` command build on it.
//!
//! ```
//! let report = moat_scan::scan_pickle(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93.");
//! assert!(report.findings.iter().any(|f| f.rule == moat_scan::Rule::DangerousGlobal));
//! ```

// A parser of untrusted bytes: no unwrap, no unchecked indexing, no panic (STYLE.md §2).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

mod checks;
mod finding;
mod formats;
mod scan;

pub use checks::globals::{judge, Judgement};
pub use finding::{Finding, Rule, Severity};
pub use formats::pickle::{scan_pickle, scan_pickle_reader, Import, Limits, PickleReport};
pub use scan::{scan_file, FileReport, ImportedGlobal, Located, MAX_MEMBER};
