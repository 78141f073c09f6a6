//! Fuzzes the zip reader (central directory, ZIP64, local headers, stored and deflated
//! members) through the scan of an archive: the input follows a local-header signature,
//! and again with an end-of-directory record appended that points into it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut z = b"PK\x03\x04".to_vec();
    z.extend_from_slice(data);
    let _ = moat_scan::scan_file(std::io::Cursor::new(&z));
    let n = u32::try_from(data.len()).unwrap_or(u32::MAX);
    z.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
    z.extend_from_slice(&n.to_le_bytes());
    z.extend_from_slice(&4u32.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    let _ = moat_scan::scan_file(std::io::Cursor::new(&z));
});
