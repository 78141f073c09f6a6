//! `moat sign` and `moat verify`: OpenSSF model-signing bundles (see `moat-sign`).
//! Exit codes: 0 signed or verified, 1 not verified, 2 usage or I/O error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use moat_sign::{PrivateKey, PublicKey, SignError};

use crate::cli::{SignArgs, VerifyArgs};
use crate::context::UsageError;
use crate::output::{self, line};

/// Where a model's signature lives unless told: `DIR/model.sig` or `FILE.sig`.
pub(crate) fn default_signature(model: &Path) -> PathBuf {
    if model.is_dir() {
        model.join("model.sig")
    } else {
        let mut p = model.as_os_str().to_owned();
        p.push(".sig");
        PathBuf::from(p)
    }
}

fn read_key(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key `{}`", path.display()))
}

fn usage(e: SignError) -> anyhow::Error {
    anyhow::Error::new(UsageError(e.to_string()))
}

pub(crate) fn sign(a: &SignArgs) -> anyhow::Result<ExitCode> {
    let key = PrivateKey::from_pem(&read_key(&a.key)?).map_err(usage)?;
    let signature = a
        .signature
        .clone()
        .unwrap_or_else(|| default_signature(&a.model));
    let signed = moat_sign::sign(&a.model, &key, &signature, &a.ignore_paths)
        .with_context(|| format!("cannot sign `{}`", a.model.display()))?;
    // Write beside, then rename: a crash never leaves half a signature.
    let tmp = {
        let mut p = signature.as_os_str().to_owned();
        p.push(".tmp");
        PathBuf::from(p)
    };
    std::fs::write(&tmp, signed.bundle.as_bytes())
        .with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, &signature)
        .with_context(|| format!("cannot write `{}`", signature.display()))?;
    output::note(&format!(
        "signed {} files of `{}` (root digest sha256:{}) with key {}",
        signed.files,
        a.model.display(),
        signed.root_digest,
        key.public_key().hint()
    ));
    line(signature.display().to_string());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn verify(a: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = PublicKey::from_pem(&read_key(&a.key)?).map_err(usage)?;
    let signature = a
        .signature
        .clone()
        .unwrap_or_else(|| default_signature(&a.model));
    let bundle = std::fs::read(&signature).with_context(|| {
        format!(
            "cannot read the signature `{}` (sign with `moat sign`, or pass --signature)",
            signature.display()
        )
    })?;
    match moat_sign::verify(&a.model, &bundle, &key, &signature, a.ignore_unsigned_files) {
        Ok(v) => {
            if a.json.json {
                output::json(&serde_json::json!({
                    "verified": true,
                    "files": v.files,
                    "root_digest": format!("sha256:{}", v.root_digest),
                    "key": v.key_hint,
                    "signature": signature.display().to_string(),
                }))?;
            } else {
                line(format!(
                    "verified: {} files of `{}` match the signature (root digest sha256:{}, key {})",
                    v.files,
                    a.model.display(),
                    v.root_digest,
                    v.key_hint
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ SignError::Io { .. }) => Err(anyhow::Error::new(e)),
        Err(e) => {
            let m = match &e {
                SignError::Mismatch(m) => m.clone(),
                _ => moat_sign::Mismatch::default(),
            };
            if a.json.json {
                output::json(&serde_json::json!({
                    "verified": false,
                    "error": e.to_string(),
                    "changed": m.changed,
                    "added": m.added,
                    "missing": m.missing,
                }))?;
            } else {
                line(format!("NOT verified: {e}"));
                for (what, names) in [
                    ("changed", &m.changed),
                    ("added", &m.added),
                    ("missing", &m.missing),
                ] {
                    for n in names {
                        line(format!("  {what:<8} {n}"));
                    }
                }
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The signature check of `moat model register`: finds the signature (`explicit`, or
/// the default place beside each artifact), verifies it with the first trusted key
/// that made it, and returns the evidence to keep. No signature is fine unless
/// `required`; a signature that does not verify refuses the registration.
pub(crate) fn check_registration(
    name: &str,
    version: &str,
    artifacts: &[PathBuf],
    explicit: Option<&Path>,
    keys: &[PathBuf],
    required: bool,
) -> anyhow::Result<Option<moat_domain::NewEvidence>> {
    use moat_domain::{EvidenceKind, NewEvidence, Verdict};
    let found: Vec<(PathBuf, PathBuf)> = match (explicit, artifacts) {
        (Some(sig), [model]) => vec![(model.clone(), sig.to_owned())],
        (Some(_), _) => {
            return Err(anyhow::Error::new(UsageError(
                "--signature covers one artifact path: register a signed model as one folder"
                    .into(),
            )))
        }
        (None, _) => artifacts
            .iter()
            .map(|m| (m.clone(), default_signature(m)))
            .filter(|(_, s)| s.is_file())
            .collect(),
    };
    if found.is_empty() {
        if required {
            anyhow::bail!(
                "the tier of {name}@{version} requires a signed model and none was found \
                 (sign it with `moat sign MODEL_DIR --key KEY`, or pass --signature)"
            );
        }
        return Ok(None);
    }
    if keys.is_empty() {
        anyhow::bail!(
            "{name}@{version} carries a signature but no trusted key is configured to verify it: \
             pass --signing-key PUB.pem or set [signing] public_keys"
        );
    }
    let public: Vec<PublicKey> = keys
        .iter()
        .map(|k| PublicKey::from_pem(&read_key(k)?).map_err(usage))
        .collect::<anyhow::Result<_>>()?;
    let mut verified = Vec::new();
    for (model, sig) in &found {
        let bundle = std::fs::read(sig)
            .with_context(|| format!("cannot read the signature `{}`", sig.display()))?;
        let mut last = None;
        let mut ok = None;
        for k in &public {
            match moat_sign::verify(model, &bundle, k, sig, false) {
                Ok(v) => {
                    ok = Some(v);
                    break;
                }
                Err(e @ SignError::KeyMismatch { .. }) => last = Some(e),
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        match ok {
            Some(v) => verified.push(serde_json::json!({
                "model": model.display().to_string(),
                "signature": sig.display().to_string(),
                "files": v.files,
                "root_digest": format!("sha256:{}", v.root_digest),
                "key": v.key_hint,
            })),
            None => anyhow::bail!(
                "the signature `{}` of `{}` does not verify: {}; not registered",
                sig.display(),
                model.display(),
                last.map(|e| e.to_string())
                    .unwrap_or_else(|| "no trusted key".into())
            ),
        }
    }
    let files: u64 = verified.iter().filter_map(|v| v["files"].as_u64()).sum();
    let keys_used: std::collections::BTreeSet<&str> =
        verified.iter().filter_map(|v| v["key"].as_str()).collect();
    let summary = format!(
        "signature verified: {files} file(s) signed by key {}",
        keys_used.into_iter().collect::<Vec<_>>().join(", ")
    );
    Ok(Some(NewEvidence {
        subject_kind: "model".into(),
        name: name.to_owned(),
        version: version.to_owned(),
        kind: EvidenceKind::Signature,
        verdict: Verdict::Pass,
        summary,
        report: serde_json::json!({ "format": "openssf-model-signing", "signatures": verified }),
    }))
}
