//! Fuzzes the GGUF metadata reader (counts, typed values, arrays, the chat template
//! check): the input follows the magic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut f = b"GGUF".to_vec();
    f.extend_from_slice(data);
    let _ = moat_scan::scan_file(std::io::Cursor::new(f));
});
