//! API key secrets: generation, parsing and hashing. A key is
//! `moat_sk_<key id>_<secret>`: 256 random bits, base64url, shown once; only the
//! SHA-256 of the whole key is stored, and comparison is constant-time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// The recognisable prefix of every key (secret scanners can match it).
pub const KEY_PREFIX: &str = "moat_sk_";

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system provides random bytes");
    b
}

/// A short random id with a prefix, such as `key_3f9a1c2b7d4e`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(random_bytes::<6>()))
}

/// `n` ids as [`new_id`] makes them, from one read of the system's random source
/// (request records come in batches of hundreds).
pub fn new_ids(prefix: &str, n: usize) -> Vec<String> {
    let mut b = vec![0u8; n * 6];
    getrandom::fill(&mut b).expect("the operating system provides random bytes");
    b.chunks_exact(6)
        .map(|c| format!("{prefix}_{}", hex::encode(c)))
        .collect()
}

/// A new key for `key_id`: the full token, never stored.
pub(crate) fn new_token(key_id: &str) -> Zeroizing<String> {
    let secret = Zeroizing::new(random_bytes::<32>());
    Zeroizing::new(format!("{KEY_PREFIX}{key_id}_{}", B64URL.encode(*secret)))
}

/// The key id inside a token, if the token is well formed.
pub(crate) fn token_key_id(token: &str) -> Option<&str> {
    // `key_` + 12 hex digits, `_`, 43 base64url characters (which may contain `_`).
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let id = rest.get(..16)?;
    let secret = rest.get(17..)?;
    let well_formed = id.starts_with("key_")
        && id[4..].bytes().all(|b| b.is_ascii_hexdigit())
        && rest.as_bytes().get(16) == Some(&b'_')
        && secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(id)
}

pub(crate) fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time comparison of a presented token with a stored hash.
pub(crate) fn token_matches(token: &str, stored: &[u8]) -> bool {
    stored.len() == 32 && bool::from(hash_token(token).ct_eq(stored))
}

/// What may be shown of a key: the prefix and id, never the secret.
pub(crate) fn display_prefix(key_id: &str) -> String {
    format!("{KEY_PREFIX}{key_id}_…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_and_compare() {
        for _ in 0..200 {
            let t = new_token("key_0123456789ab");
            assert_eq!(token_key_id(&t), Some("key_0123456789ab"), "{}", t.as_str());
        }
        let t = new_token("key_0123456789ab");
        assert!(t.starts_with("moat_sk_key_0123456789ab_"));
        assert_eq!(token_key_id(&t), Some("key_0123456789ab"));
        let h = hash_token(&t);
        assert!(token_matches(&t, &h));
        let mut other = t.to_string();
        other.pop();
        other.push('A');
        assert!(!token_matches(&other, &h) || other == *t);
        assert_eq!(token_key_id("moat_sk_key_x_short"), None);
        assert_eq!(token_key_id("Bearer abc"), None);
        assert_ne!(new_token("key_a").as_str(), new_token("key_a").as_str());
    }
}
