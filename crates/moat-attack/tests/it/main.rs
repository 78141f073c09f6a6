//! Integration tests of the attack engine on committed ONNX models
//! (rebuilt by `tests/data/make_models.py`).

mod attacks;

use moat_attack::array::Array;
use moat_attack::onnx::OnnxClassifier;

pub(crate) fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub(crate) fn model(name: &str) -> OnnxClassifier {
    OnnxClassifier::from_bytes(&std::fs::read(data(name)).expect("fixture")).expect("loads")
}

pub(crate) fn array(name: &str) -> Array {
    Array::parse(&std::fs::read(data(name)).expect("fixture")).expect("parses")
}

mod privacy;
