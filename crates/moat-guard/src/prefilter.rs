//! One pass over the text decides where the detectors run. Needles that every match
//! of a detector contains (`AKIA`, `ghp_`, `eyJ`, `://`) are found as written; words
//! that may come in any case (`password`, `secret`, context words such as `born` or
//! `passport`) are found in a lowercased copy of the text, made one block at a time.
//! Both searches are leftmost-longest over small sets of literals, which the
//! `aho-corasick` crate runs with its SIMD searcher (Teddy) rather than one automaton
//! step per byte.
//!
//! A leftmost-longest search reports one needle where several overlap. So each needle
//! stands for every needle it contains (`passport` also opens the windows of `pass`),
//! and a needle several detectors share opens the windows of each (`sk-` those of the
//! OpenAI and Anthropic detectors).

use aho_corasick::{packed, AhoCorasick, MatchKind};

use crate::secrets::Case;

/// What finding a needle means: a secret detector to run, or a family of context
/// words that opens windows for the personal-data recognizers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Secret(usize),
    Family(usize),
}

/// Bytes lowercased at a time; the copy is bounded whatever the text's size.
const BLOCK: usize = 64 << 10;

/// A needle found: who asked for it and where it is (byte offsets).
pub(crate) type Hit = (usize, usize, usize);

pub(crate) struct Prefilter {
    exact: Finder,
    exact_owners: Vec<Vec<Owner>>,
    words: Finder,
    word_owners: Vec<Vec<Owner>>,
    /// The longest word, which the lowercased blocks overlap by.
    longest_word: usize,
}

/// The needles with their owners, deduplicated; each also owns what every needle
/// inside it owns.
fn table(needles: Vec<(String, Owner)>) -> (Vec<String>, Vec<Vec<Owner>>) {
    let mut names: Vec<String> = Vec::new();
    let mut owners: Vec<Vec<Owner>> = Vec::new();
    for (n, o) in needles {
        match names.iter().position(|x| *x == n) {
            Some(i) => owners.get_mut(i).into_iter().for_each(|v| v.push(o)),
            None => {
                names.push(n);
                owners.push(vec![o]);
            }
        }
    }
    let direct = owners.clone();
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            if i != j && a.contains(b.as_str()) {
                let extra = direct.get(j).cloned().unwrap_or_default();
                if let Some(v) = owners.get_mut(i) {
                    v.extend(extra);
                }
            }
        }
    }
    for v in &mut owners {
        v.sort_by_key(|o| match o {
            Owner::Secret(d) => (0, *d),
            Owner::Family(f) => (1, *f),
        });
        v.dedup();
    }
    (names, owners)
}

/// A leftmost-longest search for literals, in groups of at most `group` literals: the
/// SIMD searcher where the CPU has it, an automaton elsewhere. Teddy sorts literals
/// into 8 or 16 buckets by their first bytes; with many short, common literals in one
/// searcher the buckets admit most trigrams of English and every position must be
/// verified, so the context words run in small groups (measured on the guard bench:
/// 32 words in one searcher 0.6-1.6 GB/s, in groups of 8 over 3 GB/s).
struct Finder {
    /// Each group with the index of its first literal.
    groups: Vec<(usize, Group)>,
}

enum Group {
    Simd(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Finder {
    fn new(names: &[String], group: usize) -> Self {
        let groups = names
            .chunks(group.max(1))
            .enumerate()
            .map(|(k, chunk)| {
                let simd = packed::Config::new()
                    .match_kind(packed::MatchKind::LeftmostLongest)
                    .builder()
                    .extend(chunk)
                    .build();
                let g = match simd {
                    Some(s) => Group::Simd(s),
                    None => Group::Automaton(
                        AhoCorasick::builder()
                            .match_kind(MatchKind::LeftmostLongest)
                            .build(chunk)
                            .unwrap_or_else(|e| unreachable!("prefilter needles: {e}")),
                    ),
                };
                (k * group.max(1), g)
            })
            .collect();
        Finder { groups }
    }

    /// Calls `f(pattern, start, end)` for every match, left to right within each group;
    /// `f` returning false ends that group's search.
    fn each(&self, hay: &[u8], mut f: impl FnMut(usize, usize, usize) -> bool) {
        for (first, g) in &self.groups {
            match g {
                Group::Simd(s) => {
                    for m in s.find_iter(hay) {
                        if !f(first + m.pattern().as_usize(), m.start(), m.end()) {
                            break;
                        }
                    }
                }
                Group::Automaton(a) => {
                    for m in a.find_iter(hay) {
                        if !f(first + m.pattern().as_usize(), m.start(), m.end()) {
                            break;
                        }
                    }
                }
            }
        }
    }
}

impl Prefilter {
    /// `secrets`: the needles of each secret detector; `families`: the context words of
    /// each personal-data family (any case).
    pub(crate) fn new(secrets: &[(Case, &[&str])], families: &[&[&str]]) -> Self {
        let (mut exact, mut words) = (Vec::new(), Vec::new());
        for (d, (case, list)) in secrets.iter().enumerate() {
            for n in *list {
                match case {
                    Case::Exact => exact.push(((*n).to_owned(), Owner::Secret(d))),
                    Case::Any => words.push((n.to_ascii_lowercase(), Owner::Secret(d))),
                }
            }
        }
        for (f, list) in families.iter().enumerate() {
            for w in *list {
                words.push((w.to_ascii_lowercase(), Owner::Family(f)));
            }
        }
        let (exact, exact_owners) = table(exact);
        let (words, word_owners) = table(words);
        Prefilter {
            exact: Finder::new(&exact, 64),
            exact_owners,
            longest_word: words.iter().map(String::len).max().unwrap_or(0),
            words: Finder::new(&words, 8),
            word_owners,
        }
    }

    /// Every needle in `text`: (secret detector, start, end) and (family, start, end).
    pub(crate) fn scan(&self, text: &str) -> (Vec<Hit>, Vec<Hit>) {
        let (mut secrets, mut families) = (Vec::new(), Vec::new());
        let mut push = |owners: Option<&Vec<Owner>>, s: usize, e: usize| {
            for o in owners.into_iter().flatten() {
                match *o {
                    Owner::Secret(d) => secrets.push((d, s, e)),
                    Owner::Family(f) => families.push((f, s, e)),
                }
            }
        };
        self.exact.each(text.as_bytes(), |p, s, e| {
            push(self.exact_owners.get(p), s, e);
            true
        });
        let bytes = text.as_bytes();
        let mut lower = Vec::with_capacity(BLOCK.min(bytes.len()) + self.longest_word);
        let mut at = 0;
        while at < bytes.len() {
            // Each block runs on past its end by the longest word, so a word across the
            // boundary is found whole; a word that starts past the end is the next
            // block's.
            let end = (at + BLOCK).min(bytes.len());
            let reach = (end + self.longest_word).min(bytes.len());
            lower.clear();
            lower.extend(
                bytes
                    .get(at..reach)
                    .unwrap_or_default()
                    .iter()
                    .map(u8::to_ascii_lowercase),
            );
            self.words.each(&lower, |p, s, e| {
                if at + s >= end {
                    return false;
                }
                push(self.word_owners.get(p), at + s, at + e);
                true
            });
            at = end;
        }
        (secrets, families)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_searches_use_the_simd_searcher() {
        // Teddy takes at most 64 literals a searcher; past that the search is one
        // automaton step per byte, several times slower.
        let p = Prefilter::new(crate::secrets::NEEDLES, &crate::pii::TRIGGER_FAMILIES);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            for (_, g) in p.exact.groups.iter().chain(&p.words.groups) {
                assert!(matches!(g, Group::Simd(_)));
            }
        }
        let _ = p;
    }

    #[test]
    fn a_needle_stands_for_the_needles_inside_it() {
        let p = Prefilter::new(crate::secrets::NEEDLES, &crate::pii::TRIGGER_FAMILIES);
        let (secrets, families) = p.scan("Passport no. and sk-ant-api03 AKIA");
        // `passport` is a personal-data word and contains the secret word `pass`.
        assert!(families.iter().any(|&(f, s, _)| f == 1 && s == 0));
        assert!(secrets.iter().any(|&(_, s, e)| s == 0 && e == 8));
        // `sk-` opens the windows of the Anthropic and the OpenAI detectors.
        let at = "Passport no. and ".len();
        let ds: Vec<usize> = secrets.iter().filter(|h| h.1 == at).map(|h| h.0).collect();
        assert!(ds.contains(&8) && ds.contains(&11), "{ds:?}");
    }

    #[test]
    fn words_across_block_boundaries_are_found_once() {
        let p = Prefilter::new(crate::secrets::NEEDLES, &crate::pii::TRIGGER_FAMILIES);
        for shift in [0usize, 1, 3, 5, 8] {
            let mut text = "x".repeat(BLOCK - shift);
            text.push_str("PASSPORT and more");
            let (_, families) = p.scan(&text);
            let found: Vec<usize> = families.iter().filter(|h| h.0 == 1).map(|h| h.1).collect();
            assert_eq!(found, [BLOCK - shift], "shift {shift}");
        }
    }
}
