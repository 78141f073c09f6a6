//! Tar archives (plain, or inside gzip), read as a stream of 512-byte headers: model
//! bundles (`model.tar.gz`), the oldest PyTorch format (a tar of `pickle`, `storages`
//! and `tensors`). Each regular member is handed back to the caller to scan like a
//! file; names that climb out of the extraction folder, and links that point outside
//! it, are findings (extracting them writes elsewhere).

use std::io::Read;

/// A member's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub name: String,
    pub size: u64,
    /// `0` (or NUL) regular file, `1` hard link, `2` symlink, `5` folder, …
    pub kind: u8,
    pub link: String,
    /// Offset of the header in the (decompressed) stream.
    pub at: u64,
}

/// Whether `block` (the first 512 bytes) is a tar header: the ustar magic, or a
/// checksum that adds up (old v7 archives).
pub(crate) fn sniff(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    if block.get(257..262) == Some(b"ustar") {
        return true;
    }
    checksum_ok(block)
}

fn checksum_ok(block: &[u8]) -> bool {
    let Some(stored) = block.get(148..156).and_then(octal) else {
        return false;
    };
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    sum == stored && block.get(..100).is_some_and(|n| n.first() != Some(&0))
}

fn octal(field: &[u8]) -> Option<u64> {
    // GNU base-256 for sizes of 8 GiB and more.
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return Some(
            field
                .iter()
                .skip(1)
                .fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(*b)),
        );
    }
    let s: String = field
        .iter()
        .take_while(|b| **b != 0 && **b != b' ')
        .map(|b| char::from(*b))
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
}

/// Reads tar members from `r`, calling `member` with each header and a reader limited
/// to its bytes (what it leaves unread is skipped). Stops at the end-of-archive
/// blocks, at `max_members`, or at a malformed header (returned as the error).
pub(crate) fn walk<R: Read>(
    r: &mut R,
    max_members: usize,
    mut member: impl FnMut(&Header, &mut dyn Read),
) -> Result<usize, String> {
    let mut at = 0u64;
    let mut count = 0;
    let mut long_name: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    let mut block = [0u8; 512];
    loop {
        match read_block(r, &mut block) {
            Ok(false) => return Ok(count),
            Ok(true) => {}
            Err(e) => return Err(e),
        }
        if block.iter().all(|b| *b == 0) {
            return Ok(count);
        }
        if !(block.get(257..262) == Some(b"ustar") || checksum_ok(&block)) {
            return Err(format!("the header at byte {at} is not a tar header"));
        }
        let mut size = block
            .get(124..136)
            .and_then(octal)
            .ok_or_else(|| format!("the header at byte {at} has an unreadable size"))?;
        // A PAX `size=` record overrides the header's size, as tarfile does.
        if let Some(n) = pax_size.take() {
            size = n;
        }
        let kind = block.get(156).copied().unwrap_or(0);
        let mut name = text(block.get(..100).unwrap_or_default());
        let prefix = text(block.get(345..500).unwrap_or_default());
        if block.get(257..262) == Some(b"ustar") && !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        if let Some(n) = long_name.take() {
            name = n;
        }
        let header = Header {
            name,
            size,
            kind,
            link: text(block.get(157..257).unwrap_or_default()),
            at,
        };
        let padded = size
            .div_ceil(512)
            .checked_mul(512)
            .ok_or_else(|| format!("the member at byte {at} declares an impossible size"))?;
        at = at.saturating_add(512).saturating_add(padded);
        let mut body = (&mut *r).take(size);
        match kind {
            // GNU long name: the next member's name is this member's data.
            b'L' => {
                let mut n = Vec::new();
                super::zip::read_capped(&mut body, 64 << 10, &mut n).map_err(|e| e.to_string())?;
                long_name = Some(text(&n));
            }
            // PAX headers: a `path=` record renames the next member.
            b'x' => {
                let mut n = Vec::new();
                super::zip::read_capped(&mut body, 64 << 10, &mut n).map_err(|e| e.to_string())?;
                let records = String::from_utf8_lossy(&n).into_owned();
                long_name = records
                    .lines()
                    .find_map(|l| l.split_once(" path=").map(|(_, p)| p.to_owned()));
                pax_size = records.lines().find_map(|l| {
                    l.split_once(" size=")
                        .and_then(|(_, v)| v.trim().parse().ok())
                });
            }
            _ => {
                count += 1;
                if count > max_members {
                    return Err(format!("more than {max_members} members"));
                }
                member(&header, &mut body);
            }
        }
        // Skip what the callback left, then the padding.
        std::io::copy(&mut body, &mut std::io::sink()).map_err(|e| e.to_string())?;
        let pad = padded - size;
        let skipped = std::io::copy(&mut (&mut *r).take(pad), &mut std::io::sink())
            .map_err(|e| e.to_string())?;
        if skipped < pad {
            return Err("the archive is truncated".into());
        }
    }
}

/// Reads one 512-byte block; false at a clean end of stream.
fn read_block<R: Read>(r: &mut R, block: &mut [u8; 512]) -> Result<bool, String> {
    let mut n = 0;
    while n < 512 {
        match r.read(block.get_mut(n..).unwrap_or_default()) {
            Ok(0) if n == 0 => return Ok(false),
            Ok(0) => return Err("the archive is truncated inside a header".into()),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: usize, kind: u8) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        let s = format!("{size:011o}");
        h[124..135].copy_from_slice(s.as_bytes());
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    #[test]
    fn walks_members_and_skips_what_is_left() {
        let mut t = header("a.txt", 5, b'0');
        t.extend_from_slice(b"hello");
        t.resize(1024, 0);
        t.extend_from_slice(&header("dir/b.pkl", 600, b'0'));
        t.extend_from_slice(&[b'N'; 600]);
        t.resize(t.len() + 424, 0);
        t.extend_from_slice(&[0u8; 1024]);
        assert!(sniff(&t));
        let mut seen = Vec::new();
        let n = walk(&mut &t[..], 10, |h, body| {
            let mut first = [0u8; 2];
            body.read_exact(&mut first).unwrap();
            seen.push((h.name.clone(), h.size, first));
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            seen,
            [
                ("a.txt".into(), 5, *b"he"),
                ("dir/b.pkl".into(), 600, *b"NN")
            ]
        );
    }

    #[test]
    fn absurd_sizes_are_errors() {
        // GNU base-256 size of 2^64 - 1 (found by fuzzing).
        let mut h = header("x", 0, b'0');
        h[124] = 0x80;
        for b in &mut h[125..136] {
            *b = 0xff;
        }
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        assert!(walk(&mut &h[..], 10, |_, _| {}).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let mut t = header("x", bytes.len(), b'0');
            t.extend_from_slice(&bytes);
            let _ = walk(&mut &t[..], 10, |_, _| {});
            let _ = walk(&mut &bytes[..], 10, |_, _| {});
        }
    }
}
