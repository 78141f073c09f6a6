//! Fuzzes the pickle machine simulation: any bytes give a report, within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = moat_scan::scan_pickle(data);
});
