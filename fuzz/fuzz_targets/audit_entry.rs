//! Fuzzes the reading of stored audit leaves, and the log verifier over them.
#![no_main]

use moat_audit::{Entry, LogVerifier, SigningKey, StoredEntry};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = Entry::from_leaf(data);
    let key = SigningKey::from_seed("moat.fuzz/audit", [7; 32]).expect("valid name").verifier();
    let mut v = LogVerifier::new(&key, "moat.fuzz/audit", &[]);
    for (i, leaf) in data.split(|b| *b == b'\n').enumerate() {
        v.push(StoredEntry { seq: i as u64, leaf, leaf_hash: &[] }, None);
    }
    let _ = v.finish();
});
