//! Shared helpers: context words near a match, word boundaries, entropy, and regex
//! matching inside regions of a text (offsets of the whole text).

use std::ops::Range;

use regex::Regex;

/// Compiles one of the guard's constant patterns, with ASCII word boundaries: the
/// regex crate's fast engine (a lazy DFA) gives up on a Unicode `\b` as soon as the text
/// holds a non-ASCII byte and falls back to an engine some twenty times slower, so a
/// French prompt cost 1.3 ms where an English one cost 70 µs. Our words are ASCII; a
/// non-ASCII letter next to one counts as a boundary.
pub(crate) fn pattern(p: &str) -> Regex {
    let ascii = p.replace(r"\b", r"(?-u:\b)");
    Regex::new(&ascii).unwrap_or_else(|e| unreachable!("pattern {p}: {e}"))
}

/// Bytes of text before a match searched for context words.
const WINDOW: usize = 48;

/// The text just before `start` (at most [`WINDOW`] bytes, on a char boundary),
/// lowercased.
pub(crate) fn before(text: &str, start: usize) -> String {
    let mut from = start.saturating_sub(WINDOW);
    while from > 0 && !text.is_char_boundary(from) {
        from -= 1;
    }
    text.get(from..start).unwrap_or_default().to_lowercase()
}

/// A list of context words, compiled once: one case-insensitive pass over the bytes
/// around a match says whether any of them is there.
pub(crate) struct Words(aho_corasick::AhoCorasick);

impl Words {
    pub(crate) fn new(words: &[&str]) -> Self {
        Words(
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                // A handful of words: the full table costs little and runs fastest on
                // the short windows it reads.
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(words)
                .unwrap_or_else(|e| unreachable!("context words: {e}")),
        )
    }

    /// Whether a word appears in the [`WINDOW`] bytes before `start` or after `end`.
    pub(crate) fn near(&self, text: &str, start: usize, end: usize) -> bool {
        self.before(text, start, WINDOW) || self.0.is_match(window_after(text, end))
    }

    /// Whether a word appears in the `bytes` bytes before `start`.
    pub(crate) fn before(&self, text: &str, start: usize, bytes: usize) -> bool {
        let mut from = start.saturating_sub(bytes);
        while from > 0 && !text.is_char_boundary(from) {
            from -= 1;
        }
        self.0.is_match(text.get(from..start).unwrap_or_default())
    }
}

fn window_after(text: &str, end: usize) -> &str {
    let mut to = (end + WINDOW).min(text.len());
    while to < text.len() && !text.is_char_boundary(to) {
        to += 1;
    }
    text.get(end..to).unwrap_or_default()
}

/// The character before byte `start`, if any.
pub(crate) fn char_before(text: &str, start: usize) -> Option<char> {
    text.get(..start).and_then(|s| s.chars().next_back())
}

/// The character at byte `end`, if any.
pub(crate) fn char_after(text: &str, end: usize) -> Option<char> {
    text.get(end..).and_then(|s| s.chars().next())
}

/// Shannon entropy in bits per character.
pub(crate) fn entropy(s: &str) -> f64 {
    // Keys are ASCII: count those bytes in a table, anything else in a short list.
    let mut ascii = [0u32; 128];
    let mut other: Vec<(char, u32)> = Vec::new();
    let mut n = 0u32;
    for c in s.chars() {
        n += 1;
        match ascii.get_mut(c as usize) {
            Some(k) => *k += 1,
            None => match other.iter_mut().find(|(o, _)| *o == c) {
                Some((_, k)) => *k += 1,
                None => other.push((c, 1)),
            },
        }
    }
    if n == 0 {
        return 0.0;
    }
    let total = f64::from(n);
    ascii
        .iter()
        .copied()
        .chain(other.iter().map(|(_, k)| *k))
        .filter(|&k| k > 0)
        .map(|k| {
            let p = f64::from(k) / total;
            -p * p.log2()
        })
        .sum()
}

/// Whether a key-shaped string is a placeholder: a long run of one character
/// (`XXXX`, `0000`, `****`), the word EXAMPLE, or template syntax.
pub(crate) fn placeholder(s: &str) -> bool {
    let up = s.to_ascii_uppercase();
    if up.contains("EXAMPLE")
        || up.contains("XXXX")
        || up.contains("YOUR")
        || up.contains("REDACTED")
    {
        return true;
    }
    if s.contains("${") || s.contains("{{") || s.starts_with('<') || s.starts_with('$') {
        return true;
    }
    let mut run = 1;
    let mut prev = None;
    for c in s.chars() {
        if Some(c) == prev {
            run += 1;
            if run >= 6 {
                return true;
            }
        } else {
            run = 1;
        }
        prev = Some(c);
    }
    false
}

/// A match inside a region, in offsets of the whole text.
#[derive(Clone, Copy)]
pub(crate) struct M<'t> {
    s: usize,
    e: usize,
    t: &'t str,
}

impl<'t> M<'t> {
    pub(crate) fn start(&self) -> usize {
        self.s
    }
    pub(crate) fn end(&self) -> usize {
        self.e
    }
    pub(crate) fn as_str(&self) -> &'t str {
        self.t
    }
}

/// The matches of `re` inside `text[r]`, in offsets of the whole text.
pub(crate) fn find_in<'t>(
    re: &'t Regex,
    text: &'t str,
    r: &Range<usize>,
) -> impl Iterator<Item = M<'t>> + 't {
    let base = r.start;
    let hay = text.get(r.clone()).unwrap_or_default();
    re.find_iter(hay).map(move |m| M {
        s: base + m.start(),
        e: base + m.end(),
        t: m.as_str(),
    })
}

pub(crate) struct C<'t> {
    groups: Vec<Option<M<'t>>>,
}

impl<'t> C<'t> {
    pub(crate) fn get(&self, i: usize) -> Option<M<'t>> {
        self.groups.get(i).copied().flatten()
    }
}

pub(crate) fn captures_in<'t>(re: &Regex, text: &'t str, r: &Range<usize>) -> Vec<C<'t>> {
    let hay = text.get(r.clone()).unwrap_or_default();
    re.captures_iter(hay)
        .map(|c| C {
            groups: c
                .iter()
                .map(|g| {
                    g.map(|m| M {
                        s: r.start + m.start(),
                        e: r.start + m.end(),
                        t: m.as_str(),
                    })
                })
                .collect(),
        })
        .collect()
}

/// `[start - left, end + right]`, on char boundaries.
pub(crate) fn widen(
    text: &str,
    start: usize,
    end: usize,
    left: usize,
    right: usize,
) -> Range<usize> {
    let mut s = start.saturating_sub(left);
    while s > 0 && !text.is_char_boundary(s) {
        s -= 1;
    }
    let mut e = (end + right).min(text.len());
    while e < text.len() && !text.is_char_boundary(e) {
        e += 1;
    }
    s..e
}

/// Sorted, overlapping or touching ranges merged.
pub(crate) fn merge(mut v: Vec<Range<usize>>) -> Vec<Range<usize>> {
    v.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_placeholders() {
        assert!(entropy("aaaaaaaa") < 0.1);
        assert!(entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCY") > 4.0);
        assert!(placeholder("AKIAXXXXXXXXXXXXXXXX"));
        assert!(placeholder("AKIAIOSFODNN7EXAMPLE"));
        assert!(placeholder("${DB_PASSWORD}"));
        assert!(!placeholder("AKIA2E3RT5YU7IQPZASD"));
        assert_eq!(before("ab é cd", 6), "ab é ");
    }
}
