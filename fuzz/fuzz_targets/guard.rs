//! Fuzzes the guard detectors, the prompt-injection normaliser, redaction and the
//! streaming scanner (fed in pieces cut where the first byte says, so characters split
//! across pieces): findings stay inside the text, nothing panics.
#![no_main]

use std::sync::OnceLock;

static SCANNER: OnceLock<moat_guard::Scanner> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let s = SCANNER.get_or_init(moat_guard::Scanner::new);
    let n = text.chars().count();
    for f in s.scan_all(&text) {
        assert!(f.start < f.end && f.end <= n);
    }
    let v = s.injection(&text);
    assert!((0.0..=1.0).contains(&v.score));
    if let Ok(r) = moat_guard::Redactor::new(s, moat_guard::Mode::Mask, None) {
        let _ = r.redact(&text);
    }
    let piece = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut stream = moat_guard::ScanStream::new(s);
    // The stream decodes as `from_utf8_lossy` does: the same code points.
    let mut last_start = 0;
    let mut check = |f: moat_guard::Finding| {
        assert!(f.start < f.end && f.end <= n, "{f:?} beyond {n}");
        assert!(f.start >= last_start, "findings out of order");
        last_start = f.start;
    };
    for chunk in data.chunks(piece) {
        stream.push(chunk, &mut check);
    }
    stream.finish(&mut check);
    if let Ok(r) = moat_guard::Redactor::new(s, moat_guard::Mode::Tokenize, Some(b"k")) {
        let (t, _) = r.redact(&text);
        let _ = moat_guard::detokenize(&t, b"k");
    }
});
