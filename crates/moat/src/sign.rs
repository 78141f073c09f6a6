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
