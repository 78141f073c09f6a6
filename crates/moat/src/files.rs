//! Reading user files: streaming SHA-256 of artifacts (any size, constant memory) and
//! the walk of artifact folders.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use moat_domain::Artifact;
use sha2::{Digest, Sha256};

/// SHA-256 and size of a file, read in 1 MiB blocks.
pub(crate) fn sha256_file(path: &Path) -> anyhow::Result<(String, u64)> {
    let mut f = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    sha256_reader(&mut f, path)
}

/// SHA-256 and size of what `f` yields, read in 1 MiB blocks.
pub(crate) fn sha256_reader(
    f: &mut impl std::io::Read,
    path: &Path,
) -> anyhow::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(h.finalize()), size))
}

/// Every regular file under `path` (or `path` itself), sorted, not following links.
fn files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("artifact `{}` does not exist", path.display()))?;
    if meta.is_file() || (meta.file_type().is_symlink() && path.is_file()) {
        return Ok(vec![path.to_owned()]);
    }
    if !meta.is_dir() {
        anyhow::bail!("artifact `{}` is not a file or folder", path.display());
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list `{}`", dir.display()))?
        {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    if out.is_empty() {
        anyhow::bail!("artifact folder `{}` holds no files", path.display());
    }
    Ok(out)
}

/// Hashes every artifact file given (folders file by file).
pub(crate) fn artifacts(paths: &[PathBuf]) -> anyhow::Result<Vec<Artifact>> {
    let mut out = Vec::new();
    for p in paths {
        for f in files(p)? {
            let (sha256, size) = sha256_file(&f)?;
            out.push(Artifact {
                path: f.display().to_string(),
                size,
                sha256,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_files_and_folders() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.bin"), b"abc").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/b.bin"), b"").unwrap();
        let a = artifacts(&[d.path().to_owned()]).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(
            a[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            a[1].sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(artifacts(&[d.path().join("missing")])
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
    }
}
