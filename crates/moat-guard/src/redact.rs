//! Redaction: every finding replaced whole (never a partial secret), in one of four
//! modes: `mask` (`*` for every character), `tag` (`<EMAIL_ADDRESS_1>`, the same value
//! the same tag within a document), `hash` (a keyed HMAC-SHA256 pseudonym, the same
//! across documents and runs for one key) and `tokenize` (AES-SIV deterministic
//! encryption under a key: `detokenize` gives the text back).

use std::collections::HashMap;

use aes_siv::aead::{Aead, KeyInit, Payload};
use aes_siv::Aes256SivAead;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use crate::{Scanner, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Mask,
    Tag,
    Hash,
    Tokenize,
}

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("the `{0}` mode needs a key (set [guard] key or MOAT_GUARD_KEY)")]
    NoKey(&'static str),
    #[error("a token cannot be decrypted with this key: it was made with another key or altered")]
    BadToken,
}

/// Redacts texts with one mode and key.
pub struct Redactor<'a> {
    scanner: &'a Scanner,
    mode: Mode,
    hash_key: Option<[u8; 32]>,
    siv_key: Option<[u8; 64]>,
}

fn derive(key: &[u8]) -> ([u8; 32], [u8; 64]) {
    let h: [u8; 32] = Sha256::new()
        .chain_update(b"moat-guard hash v1\0")
        .chain_update(key)
        .finalize()
        .into();
    let s: [u8; 64] = Sha512::new()
        .chain_update(b"moat-guard tokenize v1\0")
        .chain_update(key)
        .finalize()
        .into();
    (h, s)
}

impl<'a> Redactor<'a> {
    pub fn new(scanner: &'a Scanner, mode: Mode, key: Option<&[u8]>) -> Result<Self, RedactError> {
        let keys = key.map(derive);
        match (mode, &keys) {
            (Mode::Hash, None) => return Err(RedactError::NoKey("hash")),
            (Mode::Tokenize, None) => return Err(RedactError::NoKey("tokenize")),
            _ => {}
        }
        Ok(Redactor {
            scanner,
            mode,
            hash_key: keys.map(|k| k.0),
            siv_key: keys.map(|k| k.1),
        })
    }

    /// The text with every finding replaced, and how many were.
    pub fn redact(&self, text: &str) -> (String, usize) {
        let spans = self.spans(text);
        let mut out = String::with_capacity(text.len());
        self.replace(
            text,
            &spans,
            &mut HashMap::new(),
            &mut HashMap::new(),
            &mut out,
        );
        (out, spans.len())
    }

    /// The findings of `text`, in bytes.
    pub(crate) fn spans(&self, text: &str) -> Vec<Span> {
        self.scanner.scan_bytes(text)
    }

    /// Writes `text` to `out` with `spans` (sorted, in bytes of `text`) replaced; `tags`
    /// and `counts` number the tags of one document.
    pub(crate) fn replace(
        &self,
        text: &str,
        spans: &[Span],
        tags: &mut HashMap<(&'static str, String), usize>,
        counts: &mut HashMap<&'static str, usize>,
        out: &mut String,
    ) {
        let mut at = 0;
        for s in spans {
            let (Some(before), Some(value)) = (text.get(at..s.start), text.get(s.start..s.end))
            else {
                continue;
            };
            out.push_str(before);
            match self.mode {
                Mode::Mask => out.extend(std::iter::repeat_n('*', value.chars().count())),
                Mode::Tag => {
                    let n = *tags.entry((s.entity, value.to_owned())).or_insert_with(|| {
                        let c = counts.entry(s.entity).or_insert(0);
                        *c += 1;
                        *c
                    });
                    out.push_str(&format!("<{}_{n}>", s.entity));
                }
                Mode::Hash => {
                    let mut mac =
                        <Hmac<Sha256> as Mac>::new_from_slice(&self.hash_key.unwrap_or_default())
                            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
                    mac.update(s.entity.as_bytes());
                    mac.update(&[0]);
                    mac.update(value.as_bytes());
                    let tag = hex::encode(mac.finalize().into_bytes());
                    out.push_str(&format!(
                        "<{}_{}>",
                        s.entity,
                        tag.get(..16).unwrap_or_default()
                    ));
                }
                Mode::Tokenize => {
                    let cipher = Aes256SivAead::new(&self.siv_key.unwrap_or([0; 64]).into());
                    // Deterministic (SIV, fixed nonce): equal values give equal tokens.
                    let nonce = [0u8; 16];
                    let ct = cipher
                        .encrypt(
                            &nonce.into(),
                            Payload {
                                msg: value.as_bytes(),
                                aad: s.entity.as_bytes(),
                            },
                        )
                        .unwrap_or_default();
                    out.push_str(&format!("<tok:{}:{}>", s.entity, B64.encode(ct)));
                }
            }
            at = s.end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
    }
}

/// Puts back the values of `<tok:TYPE:…>` tokens made with `key`.
pub fn detokenize(text: &str, key: &[u8]) -> Result<String, RedactError> {
    let (_, siv) = derive(key);
    let cipher = Aes256SivAead::new(&siv.into());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<tok:") {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i + 5..).unwrap_or_default();
        let Some(close) = tail.find('>') else {
            out.push_str(rest.get(i..).unwrap_or_default());
            rest = "";
            break;
        };
        let inner = tail.get(..close).unwrap_or_default();
        let (entity, data) = inner.split_once(':').ok_or(RedactError::BadToken)?;
        let ct = B64.decode(data).map_err(|_| RedactError::BadToken)?;
        let nonce = [0u8; 16];
        let pt = cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &ct,
                    aad: entity.as_bytes(),
                },
            )
            .map_err(|_| RedactError::BadToken)?;
        out.push_str(&String::from_utf8(pt).map_err(|_| RedactError::BadToken)?);
        rest = tail.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "mail jane@example.com, then jane@example.com and bob@example.org; key AKIA2E3RT5YU7IQPZASD";

    #[test]
    fn every_mode() {
        let s = Scanner::new();
        let (masked, n) = Redactor::new(&s, Mode::Mask, None).unwrap().redact(TEXT);
        assert_eq!(n, 4);
        assert!(
            !masked.contains("jane") && !masked.contains("AKIA"),
            "{masked}"
        );
        assert_eq!(masked.chars().count(), TEXT.chars().count());
        let (tagged, _) = Redactor::new(&s, Mode::Tag, None).unwrap().redact(TEXT);
        assert_eq!(
            tagged,
            "mail <EMAIL_ADDRESS_1>, then <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>; key <AWS_ACCESS_KEY_ID_1>"
        );
        let h1 = Redactor::new(&s, Mode::Hash, Some(b"k1"))
            .unwrap()
            .redact(TEXT)
            .0;
        let h1b = Redactor::new(&s, Mode::Hash, Some(b"k1"))
            .unwrap()
            .redact(TEXT)
            .0;
        let h2 = Redactor::new(&s, Mode::Hash, Some(b"k2"))
            .unwrap()
            .redact(TEXT)
            .0;
        assert_eq!(h1, h1b);
        assert_ne!(h1, h2);
        assert!(Redactor::new(&s, Mode::Hash, None).is_err());
        let tok = Redactor::new(&s, Mode::Tokenize, Some(b"secret key"))
            .unwrap()
            .redact(TEXT)
            .0;
        assert!(!tok.contains("jane@"));
        assert_eq!(detokenize(&tok, b"secret key").unwrap(), TEXT);
        assert!(detokenize(&tok, b"other key").is_err());
    }
}
