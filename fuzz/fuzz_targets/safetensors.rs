//! Fuzzes the safetensors header checks: the input is the JSON header, after an honest
//! 8-byte length, followed by a little tensor data.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut f = (data.len() as u64).to_le_bytes().to_vec();
    f.extend_from_slice(data);
    f.extend_from_slice(&[0u8; 64]);
    let _ = moat_scan::scan_file(std::io::Cursor::new(f));
});
