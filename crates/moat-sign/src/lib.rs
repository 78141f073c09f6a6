//! Model signing in the OpenSSF model-signing format, key-based and offline.
//!
//! A signature is a Sigstore bundle (media type v0.3) whose DSSE envelope carries an
//! in-toto statement: one resource per regular file of the model (relative path with
//! `/`, SHA-256 of the whole file), sorted by path components, and one subject whose
//! digest is the SHA-256 of the resources' raw digests in that order. The envelope is
//! signed with ECDSA over the DSSE pre-authentication encoding (P-256 with SHA-256 or
//! P-384 with SHA-384, DER signatures), and the bundle names the key by the SHA-256 of
//! its PEM public key. Bundles written here verify with the `model-signing` package and
//! bundles it writes verify here.
//!
//! Verification re-hashes the model and names every file that was added, is missing or
//! changed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// Paths every signature leaves out (relative to the model folder), as the reference
/// signer does.
pub const GIT_PATHS: &[&str] = &[".git", ".gitattributes", ".github", ".gitignore"];

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{0}` is a symbolic link: signatures cover regular files only; replace the link with the file it points to")]
    Symlink(PathBuf),
    #[error("`{0}` has a name that is not UTF-8: rename it before signing")]
    NotUtf8(PathBuf),
    #[error("the key cannot be read: {0}")]
    Key(String),
    #[error("the signature file is malformed: {0}")]
    Malformed(String),
    #[error("the signature was not made by this key (the bundle names key {bundle}, the given key is {given})")]
    KeyMismatch { bundle: String, given: String },
    #[error("the signature does not verify with this key: the statement was altered or signed by another key")]
    BadSignature,
    #[error("the signed statement is inconsistent: its subject digest is {claimed} but its files hash to {actual}")]
    Inconsistent { claimed: String, actual: String },
    #[error("{}", mismatch_message(.0))]
    Mismatch(Mismatch),
}

/// How the model differs from what was signed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub added: Vec<String>,
    pub missing: Vec<String>,
    pub changed: Vec<String>,
}

fn mismatch_message(m: &Mismatch) -> String {
    let mut parts = Vec::new();
    for (what, names) in [
        ("changed", &m.changed),
        ("added", &m.added),
        ("missing", &m.missing),
    ] {
        if !names.is_empty() {
            parts.push(format!("{what}: {}", names.join(", ")));
        }
    }
    format!(
        "the model does not match its signature ({})",
        parts.join("; ")
    )
}

/// One signed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Path relative to the model folder with `/` separators; `.` for a single file.
    pub name: String,
    pub sha256: [u8; 32],
}

/// The files of a model and their digests, in signing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub resources: Vec<Resource>,
}

impl Manifest {
    /// SHA-256 over the raw digests of the resources, in order.
    pub fn root_digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for r in &self.resources {
            h.update(r.sha256);
        }
        h.finalize().into()
    }
}

/// Whether `rel` (components) is an ignored path or lies beneath one.
fn ignored(rel: &[&str], ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        let parts: Vec<&str> = i
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        !parts.is_empty() && rel.starts_with(&parts)
    })
}

/// Hashes every regular file of `model` (a folder, or one file) except the ignored
/// paths. Links are refused, as the reference signer does. Files are hashed on all
/// cores.
pub fn hash_model(model: &Path, ignore: &[String]) -> Result<Manifest, SignError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SignError::Io { path, source }
    };
    let meta = std::fs::symlink_metadata(model).map_err(io(model))?;
    if meta.file_type().is_symlink() {
        return Err(SignError::Symlink(model.to_owned()));
    }
    let mut files: Vec<(Vec<String>, PathBuf)> = Vec::new();
    if meta.is_file() {
        files.push((vec![".".to_owned()], model.to_owned()));
    } else {
        let mut stack = vec![model.to_owned()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
                let e = e.map_err(io(&dir))?;
                let path = e.path();
                let t = e.file_type().map_err(io(&path))?;
                if t.is_symlink() {
                    return Err(SignError::Symlink(path));
                }
                let rel = rel_parts(model, &path)?;
                let rel_refs: Vec<&str> = rel.iter().map(String::as_str).collect();
                if ignored(&rel_refs, ignore) {
                    continue;
                }
                if t.is_dir() {
                    stack.push(path);
                } else if t.is_file() {
                    files.push((rel, path));
                }
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let digests = hash_all(&files)?;
    Ok(Manifest {
        resources: files
            .iter()
            .zip(digests)
            .map(|((rel, _), sha256)| Resource {
                name: rel.join("/"),
                sha256,
            })
            .collect(),
    })
}

fn rel_parts(model: &Path, path: &Path) -> Result<Vec<String>, SignError> {
    let rel = path.strip_prefix(model).unwrap_or(path);
    rel.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(
                s.to_str()
                    .map(str::to_owned)
                    .ok_or_else(|| SignError::NotUtf8(path.to_owned())),
            ),
            _ => None,
        })
        .collect()
}

fn hash_all(files: &[(Vec<String>, PathBuf)]) -> Result<Vec<[u8; 32]>, SignError> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<[u8; 32]>>> = Mutex::new(vec![None; files.len()]);
    let first_error: Mutex<Option<SignError>> = Mutex::new(None);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((_, path)) = files.get(i) else { break };
                match sha256_file(path) {
                    Ok(d) => {
                        if let Some(slot) = out.lock().unwrap_or_else(|e| e.into_inner()).get_mut(i)
                        {
                            *slot = Some(d);
                        }
                    }
                    Err(e) => {
                        first_error
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    Ok(out
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|d| d.unwrap_or_default())
        .collect())
}

fn sha256_file(path: &Path) -> Result<[u8; 32], SignError> {
    let io = |source| SignError::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(h.finalize().into())
}

/// A private signing key: ECDSA on P-256 (SHA-256) or P-384 (SHA-384).
pub enum PrivateKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// A public verification key.
#[derive(Debug, Clone)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

impl PrivateKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC
    /// PRIVATE KEY`), as `openssl ecparam -genkey` writes.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        use p256::pkcs8::DecodePrivateKey as _;
        if pem.contains("ENCRYPTED PRIVATE KEY") {
            return Err(SignError::Key("encrypted private keys are not supported: decrypt it with `openssl pkey -in KEY -out PLAIN` into a file only you can read".into()));
        }
        if let Ok(k) =
            p256::SecretKey::from_pkcs8_pem(pem).or_else(|_| p256::SecretKey::from_sec1_pem(pem))
        {
            return Ok(PrivateKey::P256(k.into()));
        }
        if let Ok(k) =
            p384::SecretKey::from_pkcs8_pem(pem).or_else(|_| p384::SecretKey::from_sec1_pem(pem))
        {
            return Ok(PrivateKey::P384(k.into()));
        }
        Err(SignError::Key(
            "expected a PEM EC private key on P-256 or P-384 (make one with `openssl ecparam -name prime256v1 -genkey -noout -out key.pem`)".into(),
        ))
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::P256(k) => PublicKey::P256(*k.verifying_key()),
            PrivateKey::P384(k) => PublicKey::P384(*k.verifying_key()),
        }
    }

    /// A DER-encoded ECDSA signature of `msg`.
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer as _;
        match self {
            PrivateKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            PrivateKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
        }
    }
}

impl PublicKey {
    /// Reads a PEM public key (`BEGIN PUBLIC KEY`, as `openssl ec -pubout` writes).
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        use p256::pkcs8::DecodePublicKey as _;
        if let Ok(k) = p256::PublicKey::from_public_key_pem(pem) {
            return Ok(PublicKey::P256(k.into()));
        }
        if let Ok(k) = p384::PublicKey::from_public_key_pem(pem) {
            return Ok(PublicKey::P384(k.into()));
        }
        Err(SignError::Key(
            "expected a PEM EC public key on P-256 or P-384 (`openssl ec -in key.pem -pubout -out key.pub`)".into(),
        ))
    }

    /// The key as PEM SubjectPublicKeyInfo, 64-column lines, LF, trailing newline.
    pub fn to_pem(&self) -> String {
        use p256::pkcs8::{EncodePublicKey as _, LineEnding};
        let pem = match self {
            PublicKey::P256(k) => p256::PublicKey::from(k).to_public_key_pem(LineEnding::LF),
            PublicKey::P384(k) => p384::PublicKey::from(k).to_public_key_pem(LineEnding::LF),
        };
        pem.unwrap_or_default()
    }

    /// The key's hint in a bundle: SHA-256 of its PEM, lowercase hex.
    pub fn hint(&self) -> String {
        hex::encode(Sha256::digest(self.to_pem().as_bytes()))
    }

    fn verify(&self, msg: &[u8], der: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        match self {
            PublicKey::P256(k) => {
                p256::ecdsa::Signature::from_der(der).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
            PublicKey::P384(k) => {
                p384::ecdsa::Signature::from_der(der).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
        }
    }
}

/// DSSE pre-authentication encoding of a payload.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

// The wire shapes. Field order is the order written.

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: String,
    verification_material: VerificationMaterial,
    dsse_envelope: Envelope,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerificationMaterial {
    #[serde(default)]
    public_key: Option<KeyHint>,
    #[serde(default)]
    tlog_entries: Vec<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct KeyHint {
    #[serde(default)]
    hint: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Serialize, Deserialize)]
struct EnvelopeSignature {
    sig: String,
    #[serde(default)]
    keyid: String,
}

#[derive(Serialize, Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Predicate,
}

#[derive(Serialize, Deserialize)]
struct Subject {
    name: String,
    digest: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct Predicate {
    serialization: Serialization,
    resources: Vec<WireResource>,
}

#[derive(Serialize, Deserialize)]
struct Serialization {
    method: String,
    hash_type: String,
    #[serde(default)]
    allow_symlinks: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ignore_paths: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct WireResource {
    name: String,
    algorithm: String,
    digest: String,
}

/// The paths a signature of `model` leaves out: git metadata, the signature file
/// itself when it lies inside the model, and the caller's.
pub fn default_ignores(model: &Path, signature: &Path, extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = GIT_PATHS.iter().map(|s| (*s).to_owned()).collect();
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    if let Ok(rel) = abs(signature).strip_prefix(abs(model)) {
        let rel: Vec<String> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => s.to_str().map(str::to_owned),
                _ => None,
            })
            .collect();
        if !rel.is_empty() {
            out.push(rel.join("/"));
        }
    }
    out.extend(extra.iter().cloned());
    out.sort();
    out.dedup();
    out
}

/// What a signing produced.
pub struct Signed {
    /// The bundle, as written to the signature file.
    pub bundle: String,
    pub files: usize,
    pub root_digest: String,
}

/// Signs `model` (a folder or a file) and returns the bundle to write at `signature`.
pub fn sign(
    model: &Path,
    key: &PrivateKey,
    signature: &Path,
    extra_ignore: &[String],
) -> Result<Signed, SignError> {
    let ignore = default_ignores(model, signature, extra_ignore);
    let manifest = hash_model(model, &ignore)?;
    let root = hex::encode(manifest.root_digest());
    let name = std::path::absolute(model)
        .ok()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .unwrap_or_else(|| "model".into());
    let statement = Statement {
        kind: STATEMENT_TYPE.into(),
        subject: vec![Subject {
            name,
            digest: BTreeMap::from([("sha256".to_owned(), root.clone())]),
        }],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Predicate {
            serialization: Serialization {
                method: "files".into(),
                hash_type: "sha256".into(),
                allow_symlinks: false,
                ignore_paths: ignore,
            },
            resources: manifest
                .resources
                .iter()
                .map(|r| WireResource {
                    name: r.name.clone(),
                    algorithm: "sha256".into(),
                    digest: hex::encode(r.sha256),
                })
                .collect(),
        },
    };
    let payload =
        serde_json::to_vec_pretty(&statement).map_err(|e| SignError::Malformed(e.to_string()))?;
    let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
    let bundle = Bundle {
        media_type: BUNDLE_MEDIA_TYPE.into(),
        verification_material: VerificationMaterial {
            public_key: Some(KeyHint {
                hint: Some(key.public_key().hint()),
            }),
            tlog_entries: Vec::new(),
        },
        dsse_envelope: Envelope {
            payload: B64.encode(&payload),
            payload_type: PAYLOAD_TYPE.into(),
            signatures: vec![EnvelopeSignature {
                sig: B64.encode(sig),
                keyid: String::new(),
            }],
        },
    };
    Ok(Signed {
        bundle: serde_json::to_string(&bundle).map_err(|e| SignError::Malformed(e.to_string()))?,
        files: manifest.resources.len(),
        root_digest: root,
    })
}

/// What a verification established.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub files: usize,
    pub root_digest: String,
    pub key_hint: String,
}

/// Verifies `model` against the bundle `bundle_json` (read from `signature`) with
/// `key`. With `ignore_unsigned`, files the signature does not list are allowed.
pub fn verify(
    model: &Path,
    bundle_json: &[u8],
    key: &PublicKey,
    signature: &Path,
    ignore_unsigned: bool,
) -> Result<Verified, SignError> {
    let bundle: Bundle = serde_json::from_slice(bundle_json)
        .map_err(|e| SignError::Malformed(format!("not a Sigstore bundle: {e}")))?;
    if bundle.media_type != BUNDLE_MEDIA_TYPE {
        return Err(SignError::Malformed(format!(
            "media type `{}`, expected `{BUNDLE_MEDIA_TYPE}`",
            bundle.media_type
        )));
    }
    let given = key.hint();
    if let Some(hint) = bundle
        .verification_material
        .public_key
        .as_ref()
        .and_then(|k| k.hint.as_deref())
        .filter(|h| !h.is_empty())
    {
        if hint != given {
            return Err(SignError::KeyMismatch {
                bundle: hint.to_owned(),
                given,
            });
        }
    }
    let env = &bundle.dsse_envelope;
    let first = env
        .signatures
        .first()
        .ok_or_else(|| SignError::Malformed("the envelope holds no signature".into()))?;
    let payload = B64
        .decode(&env.payload)
        .map_err(|e| SignError::Malformed(format!("payload is not base64: {e}")))?;
    let sig = B64
        .decode(&first.sig)
        .map_err(|e| SignError::Malformed(format!("signature is not base64: {e}")))?;
    if !key.verify(&pae(PAYLOAD_TYPE, &payload), &sig) {
        return Err(SignError::BadSignature);
    }
    if env.payload_type != PAYLOAD_TYPE {
        return Err(SignError::Malformed(format!(
            "payload type `{}`, expected `{PAYLOAD_TYPE}`",
            env.payload_type
        )));
    }
    let statement: Statement = serde_json::from_slice(&payload)
        .map_err(|e| SignError::Malformed(format!("the statement is not valid: {e}")))?;
    if statement.kind != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return Err(SignError::Malformed(format!(
            "statement `{}` with predicate `{}`: not a model signature",
            statement.kind, statement.predicate_type
        )));
    }
    let [subject] = statement.subject.as_slice() else {
        return Err(SignError::Malformed("expected exactly one subject".into()));
    };
    let claimed = subject.digest.get("sha256").cloned().unwrap_or_default();
    let mut signed = Vec::with_capacity(statement.predicate.resources.len());
    for r in &statement.predicate.resources {
        if r.algorithm != "sha256" {
            return Err(SignError::Malformed(format!(
                "`{}` is hashed with `{}`; only whole-file sha256 is supported",
                r.name, r.algorithm
            )));
        }
        let mut d = [0u8; 32];
        hex::decode_to_slice(&r.digest, &mut d)
            .map_err(|_| SignError::Malformed(format!("`{}` has a malformed digest", r.name)))?;
        signed.push(Resource {
            name: r.name.clone(),
            sha256: d,
        });
    }
    let signed = Manifest { resources: signed };
    let actual = hex::encode(signed.root_digest());
    if !constant_eq(claimed.as_bytes(), actual.as_bytes()) {
        return Err(SignError::Inconsistent { claimed, actual });
    }
    let mut ignore = default_ignores(model, signature, &[]);
    ignore.extend(
        statement
            .predicate
            .serialization
            .ignore_paths
            .iter()
            .cloned(),
    );
    let present = hash_model(model, &ignore)?;
    let want: BTreeMap<&str, &[u8; 32]> = signed
        .resources
        .iter()
        .map(|r| (r.name.as_str(), &r.sha256))
        .collect();
    let have: BTreeMap<&str, &[u8; 32]> = present
        .resources
        .iter()
        .map(|r| (r.name.as_str(), &r.sha256))
        .collect();
    let mut m = Mismatch::default();
    for (name, d) in &have {
        match want.get(name) {
            None if !ignore_unsigned => m.added.push((*name).to_owned()),
            Some(w) if !constant_eq(*w, *d) => m.changed.push((*name).to_owned()),
            _ => {}
        }
    }
    m.missing = want
        .keys()
        .filter(|n| !have.contains_key(*n))
        .map(|n| (*n).to_owned())
        .collect();
    if m != Mismatch::default() {
        return Err(SignError::Mismatch(m));
    }
    Ok(Verified {
        files: signed.resources.len(),
        root_digest: actual,
        key_hint: given,
    })
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEINi5Go4Ka/WkxQQluMjIYDmZvR/EJdk/BoWT2q2ZcLjsoAoGCCqGSM49
AwEHoUQDQgAEcLzhNjBmLCTN4PmhLr7scXwFwMtYgMHx1zb/kt+8qT86TwtYrUTj
j61aKVG+VODd+rQdNbKErd7TysAGNFFg/w==
-----END EC PRIVATE KEY-----
";

    fn model() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/x"), b"x").unwrap();
        std::fs::write(d.path().join("a-b"), b"ab").unwrap();
        std::fs::write(d.path().join("empty"), b"").unwrap();
        std::fs::create_dir_all(d.path().join(".git")).unwrap();
        std::fs::write(d.path().join(".git/HEAD"), b"ref").unwrap();
        d
    }

    #[test]
    fn order_is_by_path_components() {
        let d = model();
        let m = hash_model(
            d.path(),
            &GIT_PATHS
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let names: Vec<&str> = m.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a/x", "a-b", "empty"]);
    }

    #[test]
    fn sign_then_verify_then_detect_every_change() {
        let d = model();
        let key = PrivateKey::from_pem(KEY).unwrap();
        let sig_path = d.path().join("model.sig");
        let signed = sign(d.path(), &key, &sig_path, &[]).unwrap();
        std::fs::write(&sig_path, &signed.bundle).unwrap();
        assert_eq!(signed.files, 3);
        let pubkey = key.public_key();
        let ok = verify(
            d.path(),
            signed.bundle.as_bytes(),
            &pubkey,
            &sig_path,
            false,
        )
        .unwrap();
        assert_eq!(ok.files, 3);
        // A changed file, an added one and a missing one are each named.
        std::fs::write(d.path().join("a/x"), b"y").unwrap();
        std::fs::write(d.path().join("new"), b"n").unwrap();
        std::fs::remove_file(d.path().join("empty")).unwrap();
        let Err(SignError::Mismatch(m)) = verify(
            d.path(),
            signed.bundle.as_bytes(),
            &pubkey,
            &sig_path,
            false,
        ) else {
            panic!("expected a mismatch");
        };
        assert_eq!(m.changed, ["a/x"]);
        assert_eq!(m.added, ["new"]);
        assert_eq!(m.missing, ["empty"]);
    }

    #[test]
    fn a_tampered_statement_or_another_key_fails() {
        let d = model();
        let key = PrivateKey::from_pem(KEY).unwrap();
        let sig_path = d.path().join("model.sig");
        let signed = sign(d.path(), &key, &sig_path, &[]).unwrap();
        let mut b: serde_json::Value = serde_json::from_str(&signed.bundle).unwrap();
        let payload = B64
            .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap();
        let forged = String::from_utf8(payload).unwrap().replace("a-b", "a-c");
        b["dsseEnvelope"]["payload"] = B64.encode(forged).into();
        let r = verify(
            d.path(),
            b.to_string().as_bytes(),
            &key.public_key(),
            &sig_path,
            false,
        );
        assert!(matches!(r, Err(SignError::BadSignature)), "{r:?}");
        let other = PrivateKey::P256(p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap());
        let r = verify(
            d.path(),
            signed.bundle.as_bytes(),
            &other.public_key(),
            &sig_path,
            false,
        );
        assert!(matches!(r, Err(SignError::KeyMismatch { .. })), "{r:?}");
    }

    #[test]
    fn pae_matches_the_dsse_spec() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
