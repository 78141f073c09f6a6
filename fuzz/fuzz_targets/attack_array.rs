//! Fuzzes the `.npy` and CSV readers of `moat attack` (samples and labels come from
//! users' files): parsing never panics, and what parses is consistent with its shape.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(a) = moat_attack::array::Array::parse(data) {
        let v = a.to_f32();
        assert_eq!(v.len(), a.rows() * a.row_len());
        let _ = a.to_labels();
    }
});
