//! Fuzzes the bounded Parquet footer reader: arbitrary footer bytes wrapped in a valid
//! Parquet frame (magic, footer, length, magic), so every input reaches the decoder.
#![no_main]

libfuzzer_sys::fuzz_target!(|footer: &[u8]| {
    let mut file = b"PAR1".to_vec();
    file.extend_from_slice(footer);
    file.extend_from_slice(&(footer.len() as u32).to_le_bytes());
    file.extend_from_slice(b"PAR1");
    let _ = moat_data::summarize(std::io::Cursor::new(file));
});
