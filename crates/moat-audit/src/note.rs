//! Ed25519 keys and signed notes in the C2SP signed-note format (compatible with Go's
//! `golang.org/x/mod/sumdb/note`).
//!
//! - key id: the first 4 bytes of `SHA-256(name || "\n" || 0x01 || public key)`;
//! - verifier key: `<name>+<hex id>+<base64(0x01 || public key)>`;
//! - signer key: `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`;
//! - a note is its text (ending in a newline), a blank line, then signature lines
//!   `— <name> <base64(id || signature)>`, the signature being over the text.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Error;

const ALG_ED25519: u8 = 1;
const MAX_SIGNATURES: usize = 100;

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d: [u8; 32] = h.finalize().into();
    let [a, b, c, e, ..] = d;
    u32::from_be_bytes([a, b, c, e])
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty()
        || name.contains('+')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::Key(
            "a key name must be non-empty, without spaces or `+`",
        ));
    }
    Ok(())
}

fn decode_key(b64: &str) -> Result<[u8; 32], Error> {
    let raw = Zeroizing::new(
        B64.decode(b64)
            .map_err(|_| Error::Key("key material is not base64"))?,
    );
    match raw.split_first() {
        Some((&ALG_ED25519, k)) if k.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(k);
            Ok(out)
        }
        Some((&ALG_ED25519, _)) => Err(Error::Key("an Ed25519 key has 32 bytes")),
        _ => Err(Error::Key("only Ed25519 keys (algorithm 1) are supported")),
    }
}

/// The private half: signs checkpoints. Its `Debug` never shows the secret.
pub struct SigningKey {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}+{:08x}, [redacted])", self.name, self.id)
    }
}

impl SigningKey {
    /// A key from 32 random bytes chosen by the caller.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, Error> {
        check_name(name)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(SigningKey {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64>`; the id must match the key.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim_end();
        let rest = s
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(Error::Key("a signing key starts with `PRIVATE+KEY+`"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::Key("expected PRIVATE+KEY+<name>+<id>+<key>"));
        };
        let seed = Zeroizing::new(decode_key(b64)?);
        let key = SigningKey::from_seed(name, *seed)?;
        if u32::from_str_radix(id, 16).ok() != Some(key.id) || id.len() != 8 {
            return Err(Error::Key("the key id does not match the key"));
        }
        Ok(key)
    }

    /// The text form, for the key file. Handle with care.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(Vec::with_capacity(33));
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(&*raw)
        ))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` (which must end in a newline) and returns the signed note.
    pub fn sign_note(&self, text: &str) -> Result<String, Error> {
        if !text.ends_with('\n') || text.ends_with("\n\n") {
            return Err(Error::Note("the text must end in exactly one newline"));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::Note("the text must not contain control characters"));
        }
        let sig = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n\u{2014} {} {}\n",
            self.name,
            B64.encode(blob)
        ))
    }
}

/// The public half: verifies notes. Its text form is safe to publish.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifierKey({})", self)
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

impl VerifierKey {
    /// Parses `<name>+<hex id>+<base64>`; the id must match the key.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let mut parts = s.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::Key("expected <name>+<id>+<key>"));
        };
        check_name(name)?;
        let raw = decode_key(b64)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|_| Error::Key("not a valid Ed25519 public key"))?;
        let want = key_id(name, &raw);
        if u32::from_str_radix(id, 16).ok() != Some(want) || id.len() != 8 {
            return Err(Error::Key("the key id does not match the key"));
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            id: want,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks a signed note and returns its text. Signatures by other keys are
    /// ignored, as the format requires; a bad signature by this key rejects the note.
    pub fn open_note<'a>(&self, note: &'a str) -> Result<&'a str, Error> {
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::Note("control characters in note"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or(Error::Note("no blank line before the signatures"))?;
        let text = note.get(..split + 1).ok_or(Error::Note("bad split"))?;
        let sigs = note.get(split + 2..).ok_or(Error::Note("bad split"))?;
        if !sigs.ends_with('\n') {
            return Err(Error::Note("the signature block must end in a newline"));
        }
        let mut verified = false;
        for (i, line) in sigs.lines().enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(Error::Note("too many signatures"));
            }
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or(Error::Note("a signature line starts with `— `"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(Error::Note("a signature line is `— <name> <signature>`"))?;
            let blob = B64
                .decode(b64)
                .map_err(|_| Error::Note("a signature is not base64"))?;
            let (id, sig) = match blob.split_first_chunk::<4>() {
                Some((id, sig)) if !sig.is_empty() => (u32::from_be_bytes(*id), sig),
                _ => return Err(Error::Note("a signature is too short")),
            };
            if name != self.name || id != self.id {
                continue;
            }
            let sig = ed25519_dalek::Signature::from_slice(sig)
                .map_err(|_| Error::BadSignature(self.to_string()))?;
            self.key
                .verify(text.as_bytes(), &sig)
                .map_err(|_| Error::BadSignature(self.to_string()))?;
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(Error::BadSignature(self.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
        verify_only_vectors: Vec<VerifyOnly>,
    }
    #[derive(serde::Deserialize)]
    struct Vector {
        signer_key: String,
        verifier_key: String,
        name: String,
        key_id_hex: String,
        text: String,
        signed_note: String,
    }
    #[derive(serde::Deserialize)]
    struct VerifyOnly {
        verifier_key: String,
        signed_note: String,
    }

    /// Published vectors from other implementations of the format.
    #[test]
    fn published_vectors() {
        let v: Vectors =
            serde_json::from_str(include_str!("../tests/data/note_vectors.json")).unwrap();
        for v in &v.vectors {
            let sk = SigningKey::parse(&v.signer_key).unwrap();
            assert_eq!(sk.name(), v.name);
            assert_eq!(format!("{:08x}", sk.id), v.key_id_hex);
            assert_eq!(sk.verifier().to_string(), v.verifier_key);
            assert_eq!(*sk.to_secret_string(), v.signer_key);
            assert_eq!(sk.sign_note(&v.text).unwrap(), v.signed_note);
            let vk = VerifierKey::parse(&v.verifier_key).unwrap();
            assert_eq!(vk.open_note(&v.signed_note).unwrap(), v.text);
        }
        for v in &v.verify_only_vectors {
            let vk = VerifierKey::parse(&v.verifier_key).unwrap();
            assert!(vk.open_note(&v.signed_note).is_ok());
        }
    }

    #[test]
    fn tampering_is_rejected() {
        let sk = SigningKey::from_seed("moat.test/audit", [7; 32]).unwrap();
        let vk = sk.verifier();
        let note = sk.sign_note("moat.test/audit\n3\nAAAA\n").unwrap();
        assert!(vk.open_note(&note).is_ok());
        let changed = note.replacen("\n3\n", "\n4\n", 1);
        assert!(matches!(
            vk.open_note(&changed),
            Err(Error::BadSignature(_))
        ));
        let other = SigningKey::from_seed("moat.test/audit", [8; 32]).unwrap();
        assert!(other.verifier().open_note(&note).is_err());
        assert!(vk.open_note("no signatures\n").is_err());
        assert!(format!("{sk:?}").contains("[redacted]"));
        assert!(SigningKey::parse("PRIVATE+KEY+x+00000000+AQ==").is_err());
    }
}
