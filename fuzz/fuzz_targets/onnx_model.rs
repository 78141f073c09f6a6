//! Fuzzes loading an ONNX classifier for `moat attack` (the protobuf read, the cut to
//! the decision output, tract's optimisation): a malformed file is an error, never a
//! crash. Inputs that load are run once on a row of zeros.
#![no_main]

use moat_attack::model::Classifier;

static QUIET: std::sync::Once = std::sync::Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // `OnnxClassifier` turns panics of the ONNX library into errors; libfuzzer's hook
    // would abort on them first. A panic that escapes is still a crash: the harness
    // aborts on any panic that reaches it.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("{info}"))));
    if let Ok(m) = moat_attack::onnx::OnnxClassifier::from_bytes(data) {
        let d: usize = m.input_shape().iter().product();
        if d > 0 && d <= 1 << 16 {
            let _ = m.predict(&vec![0.0; d]);
        }
    }
});
