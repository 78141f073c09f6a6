//! Shared helpers: context words near a match, word boundaries, entropy, and regex
//! matching inside regions of a text (offsets of the whole text).

use std::ops::Range;

use regex::Regex;

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

/// The text just after `end` (at most [`WINDOW`] bytes), lowercased.
pub(crate) fn after(text: &str, end: usize) -> String {
    let mut to = (end + WINDOW).min(text.len());
    while to < text.len() && !text.is_char_boundary(to) {
        to += 1;
    }
    text.get(end..to).unwrap_or_default().to_lowercase()
}

/// Whether any of `words` appears just before the match (or just after it).
pub(crate) fn near(text: &str, start: usize, end: usize, words: &[&str]) -> bool {
    let b = before(text, start);
    let a = after(text, end);
    words.iter().any(|w| b.contains(w) || a.contains(w))
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
    let mut counts = std::collections::HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
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

pub(crate) fn find_in<'t>(re: &Regex, text: &'t str, r: &Range<usize>) -> Vec<M<'t>> {
    let hay = text.get(r.clone()).unwrap_or_default();
    re.find_iter(hay)
        .map(|m| M {
            s: r.start + m.start(),
            e: r.start + m.end(),
            t: m.as_str(),
        })
        .collect()
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
