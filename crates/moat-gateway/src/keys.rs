//! Who is calling: the key from `Authorization: Bearer …` or `x-api-key`, checked by the
//! key system (through [`KeyResolver`]) and remembered briefly.
//!
//! The cache is keyed by the SHA-256 of the presented key, never the key itself, and an
//! entry is trusted for `key_cache` (default 1 s) before the key system is asked again;
//! [`KeyCache::invalidate`] drops everything at once (called when this process changes a
//! key). Unknown keys are not cached, so a key created elsewhere works on first use.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;
use sha2::{Digest, Sha256};

/// What a valid key grants at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The key id (`key_…`), safe to log.
    pub key_id: String,
    /// Endpoints the key may call; empty for none.
    pub endpoints: Vec<String>,
    /// Whether the key's role may call endpoints at all.
    pub may_invoke: bool,
    /// When the key stops being valid: a cached verification ends there too.
    pub expires: Option<std::time::SystemTime>,
}

pub type ResolveFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Grant>, String>> + Send + 'a>>;

/// The key system as the gateway sees it: `Ok(None)` for a key that is unknown, revoked,
/// expired or wrong; `Err` when it cannot answer (the store is down).
pub trait KeyResolver: Send + Sync + 'static {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a>;
}

/// Why no key could be read from a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    Missing,
    /// Several `Authorization` or `x-api-key` headers, or both naming different keys:
    /// refused rather than guessing which one a proxy in front meant.
    Ambiguous,
    /// Not `Bearer <key>`, or not visible ASCII.
    Malformed,
}

/// The key presented with a request.
pub fn presented_key(headers: &HeaderMap) -> Result<String, KeyProblem> {
    let auth: Vec<_> = headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .collect();
    let api: Vec<_> = headers.get_all("x-api-key").iter().collect();
    if auth.len() > 1 || api.len() > 1 {
        return Err(KeyProblem::Ambiguous);
    }
    let from_auth = match auth.first() {
        None => None,
        Some(v) => {
            let s = v.to_str().map_err(|_| KeyProblem::Malformed)?;
            let (scheme, rest) = s.trim().split_once(' ').ok_or(KeyProblem::Malformed)?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(KeyProblem::Malformed);
            }
            Some(rest.trim().to_owned())
        }
    };
    let from_api = match api.first() {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| KeyProblem::Malformed)?
                .trim()
                .to_owned(),
        ),
    };
    let key = match (from_auth, from_api) {
        (None, None) => return Err(KeyProblem::Missing),
        (Some(a), Some(b)) if a != b => return Err(KeyProblem::Ambiguous),
        (Some(a), _) => a,
        (None, Some(b)) => b,
    };
    if key.is_empty() || key.len() > 512 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeyProblem::Malformed);
    }
    Ok(key)
}

struct Entry {
    grant: Arc<Grant>,
    at: Instant,
}

/// Verified keys, by the hash of the key.
pub struct KeyCache {
    resolver: Arc<dyn KeyResolver>,
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// Moves on with every invalidation: a lookup that began before one does not cache
    /// its (possibly stale) answer.
    generation: std::sync::atomic::AtomicU64,
}

const MAX_ENTRIES: usize = 100_000;

impl KeyCache {
    pub fn new(resolver: Arc<dyn KeyResolver>, ttl: Duration) -> Self {
        KeyCache {
            resolver,
            ttl,
            entries: Mutex::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The grant of a presented key, from the cache or the key system.
    pub async fn grant(&self, token: &str) -> Result<Option<Arc<Grant>>, String> {
        let h: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(g) = self.cached(&h) {
            return Ok(Some(g));
        }
        let began = self.generation.load(std::sync::atomic::Ordering::Acquire);
        let grant = self.resolver.resolve(token).await?.map(Arc::new);
        if let Some(g) = &grant {
            let mut map = self.lock();
            if self.generation.load(std::sync::atomic::Ordering::Acquire) != began {
                return Ok(grant);
            }
            if map.len() >= MAX_ENTRIES {
                let ttl = self.ttl;
                map.retain(|_, e| e.at.elapsed() < ttl);
                if map.len() >= MAX_ENTRIES {
                    map.clear();
                }
            }
            map.insert(
                h,
                Entry {
                    grant: Arc::clone(g),
                    at: Instant::now(),
                },
            );
        }
        Ok(grant)
    }

    fn cached(&self, h: &[u8; 32]) -> Option<Arc<Grant>> {
        let map = self.lock();
        let e = map.get(h)?;
        let live = e.at.elapsed() < self.ttl
            && e.grant
                .expires
                .is_none_or(|t| std::time::SystemTime::now() < t);
        live.then(|| e.grant.clone())
    }

    /// Forgets every verified key (a key was revoked, rotated or changed).
    pub fn invalidate(&self) {
        let mut map = self.lock();
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        map.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn keys_come_from_bearer_or_x_api_key() {
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer abc")])),
            Ok("abc".into())
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "bearer  abc ")])),
            Ok("abc".into())
        );
        assert_eq!(
            presented_key(&headers(&[("x-api-key", "abc")])),
            Ok("abc".into())
        );
        assert_eq!(
            presented_key(&headers(&[
                ("authorization", "Bearer abc"),
                ("x-api-key", "abc")
            ])),
            Ok("abc".into())
        );
    }

    #[test]
    fn smuggling_and_junk_are_refused() {
        use KeyProblem::*;
        for (h, want) in [
            (headers(&[]), Missing),
            (headers(&[("authorization", "Basic abc")]), Malformed),
            (headers(&[("authorization", "Bearer")]), Malformed),
            (headers(&[("authorization", "Bearer a b")]), Malformed),
            (
                headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]),
                Ambiguous,
            ),
            (
                headers(&[("x-api-key", "a"), ("x-api-key", "a")]),
                Ambiguous,
            ),
            (
                headers(&[("authorization", "Bearer a"), ("x-api-key", "b")]),
                Ambiguous,
            ),
        ] {
            assert_eq!(presented_key(&h), Err(want), "{h:?}");
        }
    }

    struct Counting(std::sync::atomic::AtomicUsize);

    impl KeyResolver for Counting {
        fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a> {
            Box::pin(async move {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(match token {
                    "good" => Some(Grant {
                        key_id: "key_1".into(),
                        endpoints: vec!["e".into()],
                        may_invoke: true,
                        expires: None,
                    }),
                    "brief" => Some(Grant {
                        key_id: "key_2".into(),
                        endpoints: vec!["e".into()],
                        may_invoke: true,
                        expires: Some(std::time::SystemTime::now() + Duration::from_millis(100)),
                    }),
                    _ => None,
                })
            })
        }
    }

    #[tokio::test]
    async fn cache_hits_expire_and_invalidate() {
        let r = Arc::new(Counting(Default::default()));
        let c = KeyCache::new(r.clone(), Duration::from_millis(200));
        let calls = || r.0.load(std::sync::atomic::Ordering::SeqCst);
        assert!(c.grant("good").await.expect("ok").is_some());
        assert!(c.grant("good").await.expect("ok").is_some());
        assert_eq!(calls(), 1, "the second lookup is cached");
        assert!(c.grant("bad").await.expect("ok").is_none());
        assert!(c.grant("bad").await.expect("ok").is_none());
        assert_eq!(calls(), 3, "unknown keys are never cached");
        c.invalidate();
        c.grant("good").await.expect("ok");
        assert_eq!(calls(), 4);
        tokio::time::sleep(Duration::from_millis(250)).await;
        c.grant("good").await.expect("ok");
        assert_eq!(calls(), 5, "entries expire");
        // A key that expires within the cache's lifetime is looked up again after it.
        let c = KeyCache::new(r.clone(), Duration::from_secs(60));
        c.grant("brief").await.expect("ok");
        c.grant("brief").await.expect("ok");
        assert_eq!(calls(), 6);
        tokio::time::sleep(Duration::from_millis(150)).await;
        c.grant("brief").await.expect("ok");
        assert_eq!(calls(), 7, "the key's own expiry ends its cache entry");
    }
}
