//! The gateway's readers of untrusted bodies: tabular rows in every server shape (and
//! their alignment to columns), the answer text of server-sent events, and the JSON
//! strings detectors read and redaction rewrites. None may panic or grow past its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_gateway::detect::{body_texts, json_texts, Rows};

fuzz_target!(|data: &[u8]| {
    let _ = moat_gateway::inspect::event_text(data);
    let texts = body_texts(data);
    assert!(texts.iter().map(String::len).sum::<usize>() <= data.len().max(1) * 4);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = json_texts(&v);
        if let Some(r) = Rows::from_json(&v) {
            assert!(r.rows.len() <= moat_gateway::detect::rows::MAX_ROWS);
            for i in 0..r.rows.len() {
                let (vals, _) = r.aligned(i, &["a", "b", "c"]);
                assert_eq!(vals.len(), 3);
            }
        }
    }
});
