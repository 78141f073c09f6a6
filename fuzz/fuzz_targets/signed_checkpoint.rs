//! Fuzzes what comes back from a witness: signed notes and the checkpoints inside them.
#![no_main]

use std::sync::OnceLock;

use moat_audit::{Checkpoint, SigningKey, VerifierKey};

fn key() -> &'static VerifierKey {
    static KEY: OnceLock<VerifierKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed("moat.fuzz/audit", [7; 32]).expect("valid name").verifier())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = key().open_note(text);
        let _ = Checkpoint::parse_body(text);
        let _ = Checkpoint::open(text, key(), "moat.fuzz/audit");
        let _ = VerifierKey::parse(text);
        let _ = SigningKey::parse(text);
    }
});
