//! Personal data, validated: e-mail addresses, payment cards (Luhn and issuer ranges,
//! Mastercard 2221–2720 included), IBANs (country length and mod-97), US SSNs (issued
//! ranges only), IPv4 and IPv6 addresses (not version strings or OIDs), phone numbers in
//! international and the main national formats (not IPv4 addresses or UUID fragments),
//! and, when context words are present, dates of birth, passport and driver-licence
//! numbers, names and street addresses. Context words raise or lower scores.

use std::ops::Range;

use regex::Regex;

use crate::context::{char_after, char_before, find_in, merge, widen, Words};
use crate::{Kind, Span};

pub(crate) struct Pii {
    email: Regex,
    card: Regex,
    iban: Regex,
    ssn: Regex,
    ipv4: Regex,
    ipv6: Regex,
    phone_intl: Regex,
    phone_national: Regex,
    date: Regex,
    passport: Regex,
    licence: Regex,
    person: Regex,
    address: Regex,
    card_words: Words,
    /// What a number is called just before it when it is an order or invoice number.
    card_lead: Words,
    ssn_words: Words,
    phone_words: Words,
    address_words: Words,
}

/// The patterns are constants, checked by the tests.
fn re(p: &str) -> Regex {
    crate::context::pattern(p)
}

fn span(entity: &'static str, start: usize, end: usize, score: f32) -> Span {
    Span {
        kind: Kind::Pii,
        entity,
        start,
        end,
        score: score.clamp(0.0, 1.0),
    }
}

/// Word boundary on both sides: no letter or digit touching the match.
fn bounded(text: &str, start: usize, end: usize) -> bool {
    !char_before(text, start).is_some_and(char::is_alphanumeric)
        && !char_after(text, end).is_some_and(char::is_alphanumeric)
}

impl Pii {
    pub(crate) fn new() -> Self {
        Pii {
            email: re(
                r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}",
            ),
            card: re(r"\d(?:[ \-]?\d){11,18}"),
            iban: re(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}"),
            ssn: re(r"\d{3}[\- ]?\d{2}[\- ]?\d{4}"),
            ipv4: re(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"),
            ipv6: re(r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*"),
            phone_intl: re(r"(?:\+|00)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){1,6}"),
            phone_national: re(
                r"\(?0?\d{2,5}\)?(?:[ .\-/]\d{2,8}){1,4}|\(\d{3}\) ?\d{3}[ .\-]\d{4}|\(0?\d{2,5}\)\d{2,8}(?:[ .\-/]\d{2,8}){0,3}|\d{7,15}",
            ),
            date: re(
                r"\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}|\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2},? \d{4}",
            ),
            passport: re(r"[A-Z0-9]{6,9}"),
            licence: re(r"[A-Z0-9]{1,2}\d{4,12}|[A-Z]\d{3}-\d{3}-\d{2}-\d{3}-\d"),
            // Capitalised words (`McKeon`, `Wiśniewska`) and initials, right at the start.
            person: re(
                r"\A\p{Lu}(?:[\p{Ll}\p{M}'’\-]|\p{Lu}\p{Ll})+(?: (?:\p{Lu}(?:[\p{Ll}\p{M}'’\-]|\p{Lu}\p{Ll})+|\p{Lu}(?:\.|\b))){0,3}",
            ),
            address: re(
                r"\d{1,5} (?:[A-Z][a-z]+ ){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Square|Sq)\b\.?(?:,? (?:Apt|Suite|Unit) \w+)?",
            ),
            card_words: Words::new(&[
                "card",
                "visa",
                "mastercard",
                "amex",
                "credit",
                "debit",
                "cc",
                "payment",
            ]),
            card_lead: Words::new(&[
                "order",
                "invoice",
                "tracking",
                "isbn",
                "account no",
                "ref:",
                "ref.",
                "ref #",
                "ref#",
                "reference",
            ]),
            ssn_words: Words::new(&[
                "ssn",
                "social security",
                "social sec",
                "ss#",
                "ss #",
                "tax id",
            ]),
            phone_words: Words::new(&[
                "phone", "tel", "call", "mobile", "cell", "fax", "contact", "whatsapp", "sms",
                "number", "office", "desk", "landline", "dial", "reach", "answer", "text me",
                "message",
            ]),
            address_words: Words::new(&["address", "live", "located", "ship", "deliver", "street"]),
        }
    }

    /// `triggers`: (family, start, end) of every trigger word found in `text`.
    pub(crate) fn scan(&self, text: &str, triggers: &[(usize, usize, usize)]) -> Vec<Span> {
        let mut out = Vec::new();
        let all = 0..text.len();
        if text.contains('@') {
            self.emails(text, all.clone(), &mut out);
        }
        // One pass finds the runs of digits (with the separators numbers use); each
        // recognizer runs only on runs that have enough digits for it.
        let runs = digit_runs(text);
        let mut ibans = Vec::new();
        for run in &runs {
            let r = widen(text, run.start, run.end, 2, 2);
            let d = run.digits;
            // Cards and SSNs are digits split by single spaces or hyphens only.
            let grouped = if d >= 9 {
                longest_group(text.as_bytes().get(run.start..run.end).unwrap_or_default())
            } else {
                0
            };
            if grouped >= 12 {
                self.cards(text, r.clone(), &mut out);
            }
            if grouped >= 9 {
                self.ssns(text, r.clone(), &mut out);
            }
            if run.dots >= 3 {
                self.ips(text, r.clone(), &mut out);
            }
            // Four numbers joined by three dots are addresses or versions, not phones.
            if d >= 7 && !(run.dots == 3 && run.separators == 3) {
                self.phones(text, r, &mut out);
            }
            // An IBAN opens with two capitals and two digits.
            let b = text.as_bytes();
            let caps = run.start >= 2
                && b.get(run.start - 2).is_some_and(u8::is_ascii_uppercase)
                && b.get(run.start - 1).is_some_and(u8::is_ascii_uppercase);
            if caps {
                ibans.push(widen(text, run.start - 2, run.start, 0, 48));
            }
        }
        for r in merge(ibans) {
            self.ibans(text, r, &mut out);
        }
        let runs: Vec<Range<usize>> = runs.iter().map(|r| r.start..r.end).collect();
        // IPv6 addresses only around the colons that could start one.
        for r in merge(ipv6_windows(text)) {
            self.ipv6s(text, r, &mut out);
        }
        self.contextual(text, &runs, triggers, &mut out);
        out
    }

    fn emails(&self, text: &str, r: Range<usize>, out: &mut Vec<Span>) {
        for m in find_in(&self.email, text, &r) {
            let s = m.as_str();
            let local = s.split('@').next().unwrap_or_default();
            if local.contains("..") || local.ends_with('.') {
                continue;
            }
            out.push(span("EMAIL_ADDRESS", m.start(), m.end(), 1.0));
        }
    }

    fn cards(&self, text: &str, r: Range<usize>, out: &mut Vec<Span>) {
        for m in find_in(&self.card, text, &r) {
            if !bounded(text, m.start(), m.end()) {
                continue;
            }
            let digits: Vec<u8> = m
                .as_str()
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .collect();
            // Separators must be consistent: groups split by one kind of separator.
            let seps: Vec<char> = m.as_str().chars().filter(|c| !c.is_ascii_digit()).collect();
            if seps.windows(2).any(|w| w.first() != w.get(1)) {
                continue;
            }
            if !luhn(&digits) {
                continue;
            }
            // Printed cards group digits 4-4-4-4 (Amex and Diners 4-6-5 / 4-6-4); other
            // groupings are account, order or invoice numbers.
            let groups: Vec<usize> = m.as_str().split([' ', '-']).map(str::len).collect();
            let standard = groups.len() == 1
                || groups == [4, 6, 5]
                || groups == [4, 6, 4]
                || (groups.len() >= 3
                    && groups.iter().rev().skip(1).all(|g| *g == 4)
                    && groups.last().is_some_and(|g| (1..=4).contains(g)));
            if !standard {
                continue;
            }
            // A known network's number stands on its own; a 12-digit Maestro number, or
            // a Luhn-valid number of no network we list, needs card words around it.
            let context = self.card_words.near(text, m.start(), m.end());
            let mut score = match (issuer(&digits), context) {
                (Some("maestro"), false) if digits.len() == 12 => continue,
                (Some(_), true) => 1.0,
                (Some(_), false) => 0.9,
                (None, true) if digits.len() >= 13 => 0.6,
                (None, _) => continue,
            };
            // What the number is called just before it: an order or invoice number.
            if self.card_lead.before(text, m.start(), 24) {
                score -= 0.5;
            }
            out.push(span("CREDIT_CARD", m.start(), m.end(), score));
        }
    }

    fn ibans(&self, text: &str, r: Range<usize>, out: &mut Vec<Span>) {
        for m in find_in(&self.iban, text, &r) {
            // The pattern may swallow a trailing word; shrink to the country's length.
            let compact: String = m.as_str().chars().filter(|c| *c != ' ').collect();
            let Some(len) = compact.get(..2).and_then(iban_length) else {
                continue;
            };
            if compact.len() < len {
                continue;
            }
            // Find the byte end covering `len` non-space characters.
            let mut seen = 0;
            let mut end = m.start();
            for (i, c) in m.as_str().char_indices() {
                if c != ' ' {
                    seen += 1;
                }
                if seen == len {
                    end = m.start() + i + c.len_utf8();
                    break;
                }
            }
            if !bounded(text, m.start(), end) {
                continue;
            }
            let code = compact.get(..len).unwrap_or_default();
            if iban_valid(code) {
                out.push(span("IBAN_CODE", m.start(), end, 1.0));
            }
        }
    }

    fn ssns(&self, text: &str, r: Range<usize>, out: &mut Vec<Span>) {
        for m in find_in(&self.ssn, text, &r) {
            if !bounded(text, m.start(), m.end()) {
                continue;
            }
            // Both separators alike (`536-22-1234`, `536 22 1234`, `536221234`).
            let t = m.as_str().as_bytes();
            let sep = |i: usize| t.get(i).copied().filter(|c| !c.is_ascii_digit());
            let (a, b) = match t.len() {
                9 => (None, None),
                11 => (sep(3), sep(6)),
                _ => continue,
            };
            if a != b {
                continue;
            }
            let d: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            let (area, group, serial) = (
                d.get(..3).unwrap_or(""),
                d.get(3..5).unwrap_or(""),
                d.get(5..).unwrap_or(""),
            );
            if area == "000"
                || area == "666"
                || area.starts_with('9')
                || group == "00"
                || serial == "0000"
            {
                continue;
            }
            // Published examples, never issued.
            if d == "123456789" || d == "078051120" || d == "219099999" {
                continue;
            }
            let context = self.ssn_words.near(text, m.start(), m.end());
            let score = match (a.is_none(), context) {
                (false, true) => 1.0,
                (false, false) => 0.85,
                (true, true) => 0.75,
                (true, false) => continue,
            };
            out.push(span("US_SSN", m.start(), m.end(), score));
        }
    }

    fn ips(&self, text: &str, r: Range<usize>, out: &mut Vec<Span>) {
        for m in find_in(&self.ipv4, text, &r) {
            let (s, e) = (m.start(), m.end());
            // Longer dotted sequences (OIDs, versions) and prefixed versions are not IPs.
            let prev = char_before(text, s);
            let next = char_after(text, e);
            if prev.is_some_and(|c| c.is_alphanumeric() || c == '.')
                || next.is_some_and(|c| c.is_alphanumeric())
                || (next == Some('.')
                    && text
                        .get(e + 1..)
                        .and_then(|r| r.chars().next())
                        .is_some_and(|c| c.is_ascii_digit()))
            {
                continue;
            }
            if m.as_str().parse::<std::net::Ipv4Addr>().is_err() {
                continue;
            }
            let b = crate::context::before(text, s);
            if b.ends_with('v')
                || b.trim_end().ends_with("version")
                || b.trim_end().ends_with("ver")
                || b.ends_with("oid ")
            {
                continue;
            }
            out.push(span("IP_ADDRESS", s, e, 0.95));
        }
    }

    fn ipv6s(&self, text: &str, r: Range<usize>, out: &mut Vec<Span>) {
        for m in find_in(&self.ipv6, text, &r) {
            let t = m.as_str().trim_end_matches(['.', ':']);
            let (s, e) = (m.start(), m.start() + t.len());
            if t.len() < 3 || t == "::" || !bounded(text, s, e) {
                continue;
            }
            // At least two groups with digits, so `a::b` in code or `12:30` are not IPs.
            let groups = t.split(':').filter(|g| !g.is_empty()).count();
            if groups < 2 || t.parse::<std::net::Ipv6Addr>().is_err() {
                continue;
            }
            out.push(span("IP_ADDRESS", s, e, 0.95));
        }
    }

    fn phones(&self, text: &str, r: Range<usize>, out: &mut Vec<Span>) {
        // International numbers open with `+` or `00`.
        let window = text.as_bytes().get(r.clone()).unwrap_or_default();
        let intl_shape = window.contains(&b'+') || window.windows(2).any(|w| w == b"00");
        for (re, intl) in [(&self.phone_intl, true), (&self.phone_national, false)] {
            if intl && !intl_shape {
                continue;
            }
            for m in find_in(re, text, &r) {
                let t = m.as_str().trim_end();
                let (s, e) = (m.start(), m.start() + t.len());
                // An extension (`x905`) belongs to the number.
                let ext = extension(text, e);
                if !bounded(text, s, e + ext) || matches!(char_before(text, s), Some('+' | ':')) {
                    continue;
                }
                let digit_count = t.bytes().filter(u8::is_ascii_digit).count();
                if !(7..=15).contains(&digit_count) {
                    continue;
                }
                // IPv4 addresses, dotted versions, dates and times are not phones; dotted
                // national numbers (`03.91.12.17.13`, `555.123.4567`) are.
                if t.split('.').count() >= 3
                    && !t.contains(' ')
                    && !t.contains('-')
                    && !national_format(t)
                {
                    continue;
                }
                if t.parse::<std::net::Ipv4Addr>().is_ok()
                    || looks_like_date(t)
                    || char_after(text, e) == Some(':')
                {
                    continue;
                }
                // UUID and hash fragments: hex letters next to the digits, or a hyphen and
                // more hex digits (`…-4a5f`; `-Fax` is a label).
                let b = text.as_bytes();
                let hex_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_hexdigit);
                let hex_run = |from: usize| (from..from + 4).all(hex_at);
                let hexy_before = s > 0
                    && (hex_at(s - 1) || (b.get(s - 1) == Some(&b'-') && s >= 5 && hex_run(s - 5)));
                let hexy_after =
                    ext == 0 && (hex_at(e) || (b.get(e) == Some(&b'-') && hex_run(e + 1)));
                if !intl && (hexy_before || hexy_after) {
                    continue;
                }
                // A national number is not a slice of a longer run of digits (an
                // IBAN's or a card's groups), nor an SSN-shaped 3-2-4.
                let sep = |c: Option<char>| c.is_some_and(|c| matches!(c, ' ' | '-' | '.'));
                let before2 = text.get(..s).and_then(|p| p.chars().rev().nth(1));
                let after2 = text.get(e..).and_then(|p| p.chars().nth(1));
                // `+44 …` stands alone; `0044 …` may be a slice of a longer number.
                if !t.starts_with('+')
                    && ((sep(char_before(text, s)) && before2.is_some_and(|c| c.is_ascii_digit()))
                        || (sep(char_after(text, e)) && after2.is_some_and(|c| c.is_ascii_digit())))
                {
                    continue;
                }
                let mut lens = t.split(['-', ' ']).map(str::len);
                let ssn_shape = (lens.next(), lens.next(), lens.next(), lens.next())
                    == (Some(3), Some(2), Some(4), None);
                if !intl && ssn_shape {
                    continue;
                }
                let context = self.phone_words.near(text, s, e);
                let national_ok = national_format(t);
                let score = match (intl, national_ok, context) {
                    (true, _, true) => 1.0,
                    (true, _, false) => 0.75,
                    (false, true, true) => 0.9,
                    (false, true, false) => 0.6,
                    // Any other grouping of 7 to 15 digits, where words say it is a phone.
                    (false, false, true) => 0.6,
                    (false, false, false) => continue,
                };
                out.push(span("PHONE_NUMBER", s, e + ext, score));
            }
        }
    }

    fn contextual(
        &self,
        text: &str,
        runs: &[Range<usize>],
        triggers: &[(usize, usize, usize)],
        out: &mut Vec<Span>,
    ) {
        // Windows for dates of birth, passports and licences (names are read below).
        let mut windows: [Vec<Range<usize>>; 3] = Default::default();
        for &(family, start, end) in triggers {
            let w = match family {
                // A date of birth may come before or after its words.
                0 => widen(text, start, end, 48, 48),
                _ => widen(text, start, end, 0, 48),
            };
            if let Some(list) = windows.get_mut(family) {
                list.push(w);
            }
        }
        let [dob, passport, licence] = windows.map(merge);
        for r in &dob {
            for m in find_in(&self.date, text, r) {
                if bounded(text, m.start(), m.end()) {
                    out.push(span("DATE_TIME", m.start(), m.end(), 0.85));
                }
            }
        }
        for r in &passport {
            for m in find_in(&self.passport, text, r) {
                if bounded(text, m.start(), m.end())
                    && m.as_str().chars().any(|c| c.is_ascii_digit())
                    && crate::context::before(text, m.start()).contains("passport")
                {
                    out.push(span("US_PASSPORT", m.start(), m.end(), 0.8));
                }
            }
        }
        for r in &licence {
            for m in find_in(&self.licence, text, r) {
                if bounded(text, m.start(), m.end()) {
                    out.push(span("US_DRIVER_LICENSE", m.start(), m.end(), 0.75));
                }
            }
        }
        // A name is read where its trigger ends: past spaces and `.,:`, a run of
        // capitalised words (one anchored match, no capture groups).
        for &(family, start, end) in triggers {
            if family != 3 || char_before(text, start).is_some_and(char::is_alphanumeric) {
                continue;
            }
            let rest = text.get(end..).unwrap_or_default();
            let skip = rest
                .char_indices()
                .take(8)
                .find(|(_, c)| !matches!(c, ' ' | '\t' | '.' | ',' | ':'))
                .map_or(rest.len(), |(i, _)| i);
            let from = end + skip;
            let window = widen(text, from, from, 0, 64);
            let Some(n) = text.get(window.clone()).and_then(|w| self.person.find(w)) else {
                continue;
            };
            let mut name = n.as_str();
            if COMMON_WORDS.contains(&name.split(' ').next().unwrap_or_default()) {
                continue;
            }
            let mut stop = from + n.end();
            // "Richard's daughter": the name without its possessive.
            for suffix in ["'s", "’s"] {
                if let Some(head) = name.strip_suffix(suffix) {
                    stop -= suffix.len();
                    name = head;
                }
            }
            if NOT_NAMES.contains(&name.trim_end_matches('.')) {
                continue;
            }
            // Address and company words after a name are not part of it.
            while let Some((head, last)) = name.rsplit_once(' ') {
                if !NOT_NAMES.contains(&last.trim_end_matches('.')) {
                    break;
                }
                stop -= name.len() - head.len();
                name = head;
            }
            out.push(span("PERSON", from, stop, 0.7));
        }
        // A street number is the end of a run followed by a space and a capital.
        let b = text.as_bytes();
        let streets = merge(
            runs.iter()
                .filter(|r| {
                    b.get(r.end) == Some(&b' ')
                        && b.get(r.end + 1).is_some_and(u8::is_ascii_uppercase)
                })
                .map(|r| widen(text, r.start, r.end, 0, 96))
                .collect(),
        );
        for r in &streets {
            for m in find_in(&self.address, text, r) {
                if bounded(text, m.start(), m.end()) {
                    let score = if self.address_words.near(text, m.start(), m.end()) {
                        0.85
                    } else {
                        0.65
                    };
                    out.push(span("LOCATION", m.start(), m.end(), score));
                }
            }
        }
    }
}

/// Words that make contextual entities likely, by family: dates of birth, passports,
/// driving licences, names.
const DOB_WORDS: &[&str] = &["born", "birth", "dob", "d.o.b"];
const PASSPORT_WORDS: &[&str] = &["passport"];
const LICENCE_WORDS: &[&str] = &["driver", "licence", "license", "dl#", "dl #", "dl:"];
const PERSON_WORDS: &[&str] = &[
    "my name is",
    "i am ",
    "i'm ",
    "name:",
    "mr ",
    "mr.",
    "mrs",
    "ms ",
    "ms.",
    "dr ",
    "dr.",
    "dear ",
    "signed",
    "patient",
    "contact:",
];
/// The trigger words by family: 0 dates of birth, 1 passports, 2 driving licences,
/// 3 names (the index is the family the prefilter reports).
pub(crate) const TRIGGER_FAMILIES: [&[&str]; 4] =
    [DOB_WORDS, PASSPORT_WORDS, LICENCE_WORDS, PERSON_WORDS];

/// A run of digits and the separators numbers use (` -./()`), ending on a digit.
struct Run {
    start: usize,
    end: usize,
    digits: usize,
    dots: usize,
    /// Separators between the first and the last digit.
    separators: usize,
}

/// Every run of digits, in one pass over the bytes.
fn digit_runs(text: &str) -> Vec<Run> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Most text has no digit: skip 32 bytes at a time while none is one.
        if let Some(block) = b.get(i..i + 32).and_then(|x| <&[u8; 32]>::try_from(x).ok()) {
            // Branch-free over a fixed block, so it compiles to vector compares.
            let any = block
                .iter()
                .fold(0u8, |acc, &c| acc | u8::from(c.wrapping_sub(b'0') < 10));
            if any == 0 {
                i += 32;
                continue;
            }
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let start = i;
        // Separators count only between digits: the run ends on its last digit.
        let (mut digits, mut dots, mut dots_in, mut end) = (0, 0, 0, i);
        while let Some(&c) = b.get(i) {
            if c.is_ascii_digit() {
                digits += 1;
                end = i + 1;
                dots_in = dots;
            } else if matches!(c, b' ' | b'-' | b'.' | b'/' | b'(' | b')') {
                dots += usize::from(c == b'.');
            } else {
                break;
            }
            i += 1;
        }
        out.push(Run {
            start,
            end,
            digits,
            dots: dots_in,
            separators: end - start - digits,
        });
    }
    out
}

/// Dates and times are not phone numbers: `2021-01-12 16`, `12/03/2024`, `03.12.2024`.
fn looks_like_date(t: &str) -> bool {
    let g: Vec<&str> = t
        .split(['-', '/', '.', ' '])
        .filter(|x| !x.is_empty())
        .collect();
    let num = |i: usize| g.get(i).and_then(|x| x.parse::<u32>().ok());
    let len = |i: usize| g.get(i).map_or(0, |x| x.len());
    let year = |i| len(i) == 4 && num(i).is_some_and(|y| (1900..=2099).contains(&y));
    let month = |i| len(i) <= 2 && num(i).is_some_and(|m| (1..=12).contains(&m));
    let day = |i| len(i) <= 2 && num(i).is_some_and(|d| (1..=31).contains(&d));
    (year(0) && month(1) && day(2))
        || (day(0) && month(1) && year(2))
        || (month(0) && day(1) && year(2))
}

/// The bytes of an extension right after a phone number (`x905`, ` ext. 12`), which
/// belong to it.
fn extension(text: &str, end: usize) -> usize {
    let rest = text.as_bytes().get(end..).unwrap_or_default();
    let lead = [&b"x"[..], b" x", b" ext. ", b" ext ", b"ext. ", b"ext"]
        .iter()
        .find(|p| rest.starts_with(p))
        .map_or(0, |p| p.len());
    if lead == 0 {
        return 0;
    }
    let digits = rest
        .get(lead..)
        .unwrap_or_default()
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_digit())
        .count();
    let after = rest.get(lead + digits);
    if digits == 0 || after.is_some_and(u8::is_ascii_alphanumeric) {
        0
    } else {
        lead + digits
    }
}

/// The most digits in one group of a run joined only by single spaces or hyphens
/// (`4111 1111 1111 1111`: 16; `192.168.10.24`: 3).
fn longest_group(run: &[u8]) -> usize {
    let (mut best, mut digits, mut gap) = (0, 0, false);
    for &c in run {
        if c.is_ascii_digit() {
            digits += 1;
            gap = false;
        } else if matches!(c, b' ' | b'-') && !gap {
            gap = true;
        } else {
            digits = 0;
            gap = false;
        }
        best = best.max(digits);
    }
    best
}

/// Windows around the colons an IPv6 address could hold: `::`, or a hex digit, `:`, a hex
/// digit and another `:` soon after. Only the colons are visited.
fn ipv6_windows(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let hex = |i: usize| b.get(i).is_some_and(u8::is_ascii_hexdigit);
    memchr::memchr_iter(b':', b)
        .filter(|&i| {
            b.get(i + 1) == Some(&b':')
                || (i > 0
                    && hex(i - 1)
                    && hex(i + 1)
                    && b.get(i + 2..(i + 7).min(b.len()))
                        .is_some_and(|r| r.contains(&b':')))
        })
        // An address is at most 45 characters: 40 on either side of a colon in it.
        .map(|i| widen(text, i, i, 40, 40))
        .collect()
}

/// Capitalised words that end a line of an address or a company name, not a person's
/// name.
const NOT_NAMES: &[&str] = &[
    "Suite",
    "Apt",
    "Apartment",
    "Unit",
    "Floor",
    "Street",
    "St",
    "Road",
    "Rd",
    "Avenue",
    "Ave",
    "Ltd",
    "Inc",
    "Corp",
    "LLC",
    "GmbH",
    "Plc",
    "Co",
];

/// Capitalised words that follow "I am" without being names.
const COMMON_WORDS: &[&str] = &[
    "The",
    "A",
    "An",
    "Not",
    "Sorry",
    "Happy",
    "Glad",
    "Here",
    "Going",
    "Looking",
    "Trying",
    "Working",
    "Sure",
    "Fine",
    "Good",
    "Unable",
    "Able",
    "Interested",
    "Writing",
    "Calling",
];

/// Whether a national number has one of the main national shapes: US/Canada
/// `(555) 123-4567`, `555-123-4567`; UK `020 7946 0958`, `07700 900123`; France
/// `01 23 45 67 89`; Germany `030 1234567`, `0171/1234567`; India `98765 43210`.
fn national_format(t: &str) -> bool {
    // Group lengths on the stack: this runs on every phone candidate.
    let mut lens = [0usize; 8];
    let mut n = 0;
    let mut digits = 0;
    for g in t
        .split([' ', '-', '.', '/', '(', ')'])
        .filter(|g| !g.is_empty())
    {
        if let Some(slot) = lens.get_mut(n) {
            *slot = g.len();
        }
        n += 1;
        digits += g.bytes().filter(u8::is_ascii_digit).count();
    }
    let lens = lens.get(..n.min(8)).unwrap_or_default();
    let first = t.bytes().find(u8::is_ascii_digit).unwrap_or(b'x');
    match digits {
        10 if lens == [3, 3, 4] && first != b'0' && first != b'1' => true,
        10 if lens == [2, 2, 2, 2, 2] && first == b'0' => true,
        9..=11
            if first == b'0'
                && lens.len() >= 2
                && lens.first().is_some_and(|l| (2..=5).contains(l)) =>
        {
            true
        }
        10 if lens == [5, 5] && matches!(first, b'6'..=b'9') => true,
        _ => false,
    }
}

/// Luhn checksum over digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum % 10 == 0
}

/// The card network of a number, from its prefix and length.
pub(crate) fn issuer(d: &[u8]) -> Option<&'static str> {
    let n = d.len();
    let prefix = |k: usize| -> u32 { d.iter().take(k).fold(0u32, |a, &x| a * 10 + u32::from(x)) };
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    if p1 == 4 && matches!(n, 13 | 16 | 19) {
        return Some("visa");
    }
    if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16 {
        return Some("mastercard");
    }
    if (p2 == 34 || p2 == 37) && n == 15 {
        return Some("amex");
    }
    if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622_126..=622_925).contains(&p6))
        && (16..=19).contains(&n)
    {
        return Some("discover");
    }
    // JCB, and its 15-digit numbers of the older 2131 and 1800 ranges.
    if ((3528..=3589).contains(&p4) && (16..=19).contains(&n))
        || ((p4 == 2131 || p4 == 1800) && n == 15)
    {
        return Some("jcb");
    }
    if ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&n) {
        return Some("diners");
    }
    if p2 == 62 && (16..=19).contains(&n) {
        return Some("unionpay");
    }
    if (p2 == 50 || (56..=69).contains(&p2)) && (12..=19).contains(&n) {
        return Some("maestro");
    }
    None
}

/// IBAN length by country (ISO 13616 registry).
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "AD" => 24,
        "AE" => 23,
        "AL" => 28,
        "AT" => 20,
        "AZ" => 28,
        "BA" => 20,
        "BE" => 16,
        "BG" => 22,
        "BH" => 22,
        "BI" => 27,
        "BR" => 29,
        "BY" => 28,
        "CH" => 21,
        "CR" => 22,
        "CY" => 28,
        "CZ" => 24,
        "DE" => 22,
        "DJ" => 27,
        "DK" => 18,
        "DO" => 28,
        "EE" => 20,
        "EG" => 29,
        "ES" => 24,
        "FI" => 18,
        "FK" => 18,
        "FO" => 18,
        "FR" => 27,
        "GB" => 22,
        "GE" => 22,
        "GI" => 23,
        "GL" => 18,
        "GR" => 27,
        "GT" => 28,
        "HR" => 21,
        "HU" => 28,
        "IE" => 22,
        "IL" => 23,
        "IQ" => 23,
        "IS" => 26,
        "IT" => 27,
        "JO" => 30,
        "KW" => 30,
        "KZ" => 20,
        "LB" => 28,
        "LC" => 32,
        "LI" => 21,
        "LT" => 20,
        "LU" => 20,
        "LV" => 21,
        "LY" => 25,
        "MC" => 27,
        "MD" => 24,
        "ME" => 22,
        "MK" => 19,
        "MN" => 20,
        "MR" => 27,
        "MT" => 31,
        "MU" => 30,
        "NI" => 28,
        "NL" => 18,
        "NO" => 15,
        "OM" => 23,
        "PK" => 24,
        "PL" => 28,
        "PS" => 29,
        "PT" => 25,
        "QA" => 29,
        "RO" => 24,
        "RS" => 22,
        "RU" => 33,
        "SA" => 24,
        "SC" => 31,
        "SD" => 18,
        "SE" => 24,
        "SI" => 19,
        "SK" => 24,
        "SM" => 27,
        "SO" => 23,
        "ST" => 25,
        "SV" => 28,
        "TL" => 23,
        "TN" => 24,
        "TR" => 26,
        "UA" => 29,
        "VA" => 22,
        "VG" => 24,
        "XK" => 20,
        "YE" => 30,
        _ => return None,
    })
}

/// ISO 7064 mod-97-10 over the rearranged IBAN.
fn iban_valid(code: &str) -> bool {
    let (head, tail) = code.split_at(4.min(code.len()));
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c {
            '0'..='9' => u32::from(c) - u32::from('0'),
            'A'..='Z' => u32::from(c) - u32::from('A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(&'static str, String)> {
        let mut v: Vec<Span> = crate::Scanner::new().scan_bytes(text);
        v.retain(|s| s.kind == Kind::Pii);
        v.sort_by_key(|s| s.start);
        v.into_iter()
            .map(|s| {
                (
                    s.entity,
                    text.get(s.start..s.end).unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn cards_are_validated() {
        assert_eq!(
            found("card 4111 1111 1111 1111 ok"),
            [("CREDIT_CARD", "4111 1111 1111 1111".to_owned())]
        );
        // Mastercard 2-series, which pattern-only recognizers miss.
        assert_eq!(
            found("mc: 2223003122003222"),
            [("CREDIT_CARD", "2223003122003222".to_owned())]
        );
        assert!(
            found("order 4111 1111 1111 1112").is_empty(),
            "Luhn-invalid"
        );
        assert!(
            found("ref 1234567812345670").is_empty(),
            "no issuer starts with 1"
        );
    }

    #[test]
    fn ibans_ssns_and_ips() {
        assert_eq!(
            found("IBAN GB82 WEST 1234 5698 7654 32 thanks"),
            [("IBAN_CODE", "GB82 WEST 1234 5698 7654 32".to_owned())]
        );
        assert!(
            found("GB83 WEST 1234 5698 7654 32").is_empty(),
            "wrong check digits"
        );
        assert_eq!(
            found("SSN 536-22-1234"),
            [("US_SSN", "536-22-1234".to_owned())]
        );
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "536-00-1234",
            "536-22-0000",
        ] {
            assert!(found(bad).is_empty(), "{bad}");
        }
        assert_eq!(
            found("host 10.0.0.1 up"),
            [("IP_ADDRESS", "10.0.0.1".to_owned())]
        );
        assert!(found("version 1.2.3.4").is_empty());
        assert!(found("oid 1.3.6.1.4.1.311").is_empty());
        assert_eq!(
            found("addr fe80::1ff:fe23:4567:890a"),
            [("IP_ADDRESS", "fe80::1ff:fe23:4567:890a".to_owned())]
        );
    }

    #[test]
    fn phones_not_ips_or_uuids() {
        assert_eq!(
            found("call +44 20 7946 0958"),
            [("PHONE_NUMBER", "+44 20 7946 0958".to_owned())]
        );
        assert_eq!(
            found("phone: (415) 555-2671"),
            [("PHONE_NUMBER", "(415) 555-2671".to_owned())]
        );
        assert_eq!(
            found("tél 01 23 45 67 89"),
            [("PHONE_NUMBER", "01 23 45 67 89".to_owned())]
        );
        assert!(found("server 192.168.100.200")
            .iter()
            .all(|(e, _)| *e != "PHONE_NUMBER"));
        assert!(found("id 123e4567-e89b-12d3-a456-426614174000").is_empty());
    }
}
