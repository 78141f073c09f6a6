//! Long texts in bounded memory: a text that arrives in pieces (a file read a block at a
//! time, a response body as it streams) is scanned or redacted one window at a time.
//! Each window is scanned whole; what starts before its last [`OVERLAP`] bytes is
//! reported (or redacted and written out), and the rest is scanned again at the start
//! of the next window, with [`LEFT`] bytes of what came before it for context words.
//! A finding is therefore found whole when it is shorter than [`OVERLAP`]; memory is a
//! window plus the overlap, whatever the text's length. Offsets are code points of the
//! whole text. Bytes that are not UTF-8 read as U+FFFD, one per bad sequence, even when
//! a piece ends inside a character.

use std::collections::HashMap;

use crate::redact::Redactor;
use crate::{to_code_points, Finding, Kind, Scanner, Span};

/// Bytes scanned at a time (beyond the overlap).
pub const WINDOW: usize = 1 << 20;
/// Bytes at the end of a window that are scanned again with the next one: the longest
/// finding that is always found whole.
pub const OVERLAP: usize = 64 << 10;
/// Bytes kept before the next window's first new byte, for context words.
const LEFT: usize = 256;

/// The text not yet finished with, and where it sits in the whole text.
#[derive(Default)]
struct Window {
    buf: String,
    /// Bytes of `buf` already reported (kept only as context).
    skip: usize,
    /// Code points of the whole text before `buf`.
    base_chars: usize,
    /// Bytes of the whole text before `buf`.
    base_bytes: usize,
    /// The start of a character split across pieces.
    pending: Vec<u8>,
}

impl Window {
    fn feed(&mut self, bytes: &[u8]) {
        let mut data = std::mem::take(&mut self.pending);
        data.extend_from_slice(bytes);
        let mut rest = data.as_slice();
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.buf.push_str(s);
                    return;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    self.buf
                        .push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            self.buf.push('\u{FFFD}');
                            rest = bad.get(n..).unwrap_or_default();
                        }
                        None => {
                            self.pending = bad.to_vec();
                            return;
                        }
                    }
                }
            }
        }
    }

    fn end_of_input(&mut self) {
        if !self.pending.is_empty() {
            self.pending.clear();
            self.buf.push('\u{FFFD}');
        }
    }

    fn full(&self) -> bool {
        self.buf.len() >= WINDOW + OVERLAP
    }

    /// Where this window's report ends: before the overlap, or at the end of the text.
    fn cut(&self, last: bool) -> usize {
        if last {
            return self.buf.len();
        }
        let mut cut = self.buf.len().saturating_sub(OVERLAP).max(self.skip);
        while !self.buf.is_char_boundary(cut) {
            cut -= 1;
        }
        cut
    }

    /// Drops what is done: everything before `done` but the context kept for the next
    /// window.
    fn advance(&mut self, done: usize) {
        let mut keep = done.saturating_sub(LEFT);
        while !self.buf.is_char_boundary(keep) {
            keep -= 1;
        }
        let dropped = self.buf.get(..keep).unwrap_or_default();
        self.base_chars += dropped.chars().count();
        self.base_bytes += keep;
        self.buf.drain(..keep);
        self.skip = done - keep;
    }
}

/// Spans of `window` to report now: those starting in `[skip, cut)`, and where the
/// report ends (past the last of them, so no finding is cut in two).
fn take(spans: Vec<Span>, skip: usize, cut: usize) -> (Vec<Span>, usize) {
    let now: Vec<Span> = spans
        .into_iter()
        .filter(|s| s.start >= skip && s.start < cut)
        .collect();
    let done = now.iter().map(|s| s.end).fold(cut, usize::max);
    (now, done)
}

/// Scans a text that arrives in pieces: [`ScanStream::push`] the bytes as they come,
/// then [`ScanStream::finish`]; findings come sorted, in code points of the whole text,
/// and prompt injection is judged on the first window (as [`Scanner::scan_all`] judges
/// the first 256 KiB of any text).
pub struct ScanStream<'a> {
    scanner: &'a Scanner,
    window: Window,
    /// The injection finding, in bytes of the whole text, until it is reported.
    injection: Option<Span>,
    judged: bool,
}

impl<'a> ScanStream<'a> {
    pub fn new(scanner: &'a Scanner) -> Self {
        ScanStream {
            scanner,
            window: Window::default(),
            injection: None,
            judged: false,
        }
    }

    /// Adds bytes; calls `f` with each finding that is complete.
    pub fn push(&mut self, bytes: &[u8], f: &mut impl FnMut(Finding)) {
        self.window.feed(bytes);
        while self.window.full() {
            self.step(false, f);
        }
    }

    /// The end of the text: calls `f` with the findings left.
    pub fn finish(mut self, f: &mut impl FnMut(Finding)) {
        self.window.end_of_input();
        self.step(true, f);
    }

    fn step(&mut self, last: bool, f: &mut impl FnMut(Finding)) {
        let w = &self.window;
        if !self.judged {
            self.judged = true;
            let v = self.scanner.injection(&w.buf);
            if v.injection {
                self.injection = Some(Span {
                    kind: Kind::PromptInjection,
                    entity: v.family,
                    start: v.span.0,
                    end: v.span.1,
                    score: v.score as f32,
                });
            }
        }
        let cut = w.cut(last);
        let (mut now, done) = take(self.scanner.scan_bytes(&w.buf), w.skip, cut);
        if let Some(s) = self.injection.take() {
            let start = s.start.saturating_sub(w.base_bytes);
            if s.start >= w.base_bytes && start < done {
                now.push(Span {
                    start,
                    end: s.end.saturating_sub(w.base_bytes).min(w.buf.len()),
                    ..s
                });
                now.sort_by_key(|s| s.start);
            } else {
                self.injection = Some(s);
            }
        }
        let base = w.base_chars;
        for mut finding in to_code_points(&w.buf, now) {
            finding.start += base;
            finding.end += base;
            f(finding);
        }
        self.window.advance(done);
    }
}

/// Redacts a text that arrives in pieces: [`RedactStream::push`] the bytes as they come
/// and write out what it returns, then what [`RedactStream::finish`] returns. Tags stay
/// consistent over the whole text (`<EMAIL_ADDRESS_1>` is the same address throughout).
pub struct RedactStream<'r, 'a> {
    redactor: &'r Redactor<'a>,
    window: Window,
    tags: HashMap<(&'static str, String), usize>,
    counts: HashMap<&'static str, usize>,
    /// Findings replaced so far.
    replaced: usize,
}

impl<'r, 'a> RedactStream<'r, 'a> {
    pub fn new(redactor: &'r Redactor<'a>) -> Self {
        RedactStream {
            redactor,
            window: Window::default(),
            tags: HashMap::new(),
            counts: HashMap::new(),
            replaced: 0,
        }
    }

    /// Adds bytes; returns the redacted text that is final.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.window.feed(bytes);
        let mut out = String::new();
        while self.window.full() {
            self.step(false, &mut out);
        }
        out
    }

    /// The end of the text: the rest of it, redacted, and how many findings were
    /// replaced in all.
    pub fn finish(mut self) -> (String, usize) {
        self.window.end_of_input();
        let mut out = String::new();
        self.step(true, &mut out);
        (out, self.replaced)
    }

    fn step(&mut self, last: bool, out: &mut String) {
        let w = &self.window;
        let cut = w.cut(last);
        let (now, done) = take(self.redactor.spans(&w.buf), w.skip, cut);
        self.replaced += now.len();
        let text = w.buf.get(w.skip..done).unwrap_or_default();
        let shifted: Vec<Span> = now
            .into_iter()
            .map(|s| Span {
                start: s.start - w.skip,
                end: s.end - w.skip,
                ..s
            })
            .collect();
        self.redactor
            .replace(text, &shifted, &mut self.tags, &mut self.counts, out);
        self.window.advance(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;

    /// A long text with findings everywhere, some across window edges.
    fn long_text() -> String {
        let mut t = String::new();
        let mut i = 0u64;
        while t.len() < 3 * WINDOW + 12345 {
            t.push_str(&format!(
                "line {i} héllo wörld, mail jane{}@example.com ",
                i % 7
            ));
            if i % 5 == 0 {
                t.push_str("card 4111 1111 1111 1111 and ");
            }
            i += 1;
        }
        t
    }

    #[test]
    fn streamed_findings_are_those_of_the_whole_text() {
        let s = Scanner::new();
        let text = long_text();
        let whole = s.scan(&text);
        for piece in [1usize, 4093, 70_000, 1 << 20] {
            let mut got = Vec::new();
            let mut st = ScanStream::new(&s);
            for chunk in text.as_bytes().chunks(piece) {
                st.push(chunk, &mut |f| got.push(f));
            }
            st.finish(&mut |f| got.push(f));
            assert_eq!(got.len(), whole.len(), "pieces of {piece}");
            assert!(got == whole, "pieces of {piece}");
        }
    }

    #[test]
    fn streamed_redaction_is_that_of_the_whole_text() {
        let s = Scanner::new();
        let text = long_text();
        for mode in [Mode::Mask, Mode::Tag] {
            let r = Redactor::new(&s, mode, None).unwrap();
            let (whole, n) = r.redact(&text);
            let mut st = RedactStream::new(&r);
            let mut got = String::new();
            for chunk in text.as_bytes().chunks(100_003) {
                got.push_str(&st.push(chunk));
            }
            let (tail, replaced) = st.finish();
            got.push_str(&tail);
            assert_eq!(replaced, n);
            assert!(got == whole, "{mode:?}");
        }
    }

    #[test]
    fn characters_split_across_pieces_and_bad_bytes() {
        let s = Scanner::new();
        let mut bytes = "wörld jane@example.com ".as_bytes().to_vec();
        bytes.extend_from_slice(&[0xff, b' ']);
        bytes.extend_from_slice("ü bob@example.org".as_bytes());
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        let mut got = Vec::new();
        let mut st = ScanStream::new(&s);
        for b in &bytes {
            st.push(std::slice::from_ref(b), &mut |f| got.push(f));
        }
        st.finish(&mut |f| got.push(f));
        assert_eq!(got, s.scan(&lossy));
    }
}
