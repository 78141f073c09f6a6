//! Fuzzes the protobuf reader and the graph walks of ONNX models and TensorFlow
//! SavedModels: the input follows the tag that opens both formats.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for first in [0x08u8, 0x12] {
        let mut f = vec![first];
        f.extend_from_slice(data);
        let _ = moat_scan::scan_file(std::io::Cursor::new(f));
    }
});
