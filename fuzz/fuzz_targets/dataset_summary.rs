//! Fuzzes the dataset schema summary (format sniffing, CSV, JSON lines, Parquet) with
//! arbitrary files: it must return a summary or an error, never panic or blow memory.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = moat_data::summarize(std::io::Cursor::new(data));
});
