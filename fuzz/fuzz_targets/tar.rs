//! Fuzzes the tar reader and what it hands on (members scanned as files, gzip and zlib
//! streams): the input follows a valid ustar header whose size covers it, and is also
//! read raw behind a gzip-free ustar magic at offset 257.
#![no_main]

fn header(size: usize) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..5].copy_from_slice(b"m.pkl");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut t = header(data.len());
    t.extend_from_slice(data);
    let _ = moat_scan::scan_file(std::io::Cursor::new(&t));
    let mut raw = data.to_vec();
    if raw.len() < 512 {
        raw.resize(512, 0);
    }
    raw[257..262].copy_from_slice(b"ustar");
    let _ = moat_scan::scan_file(std::io::Cursor::new(raw));
});
