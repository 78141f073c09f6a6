//! Fuzzes the HDF5 reader (superblock, object headers, attribute messages, global and
//! fractal heaps, B-tree leaves): the input follows the signature.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut f = b"\x89HDF\r\n\x1a\n".to_vec();
    f.extend_from_slice(data);
    let _ = moat_scan::scan_file(std::io::Cursor::new(f));
});
