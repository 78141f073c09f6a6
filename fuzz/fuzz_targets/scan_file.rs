//! Fuzzes the whole scan of one file: sniffing, zip directories and members (stored,
//! deflated, ZIP64), NumPy headers and the pickles inside them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = moat_scan::scan_file(std::io::Cursor::new(data));
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend_from_slice(data);
    let _ = moat_scan::scan_file(std::io::Cursor::new(zip));
});
