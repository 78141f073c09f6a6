//! Zip archives (PyTorch checkpoints are zips of `data.pkl` and tensor records), read
//! the way PyTorch's loader reads them: the central directory is the truth; local
//! headers are only checked against it (a mismatch is reported, not fatal), CRCs are
//! not required to match. ZIP64 is supported.
//!
//! Hostile archives are expected: the central directory, member count and every
//! decompressed member are capped; a member that inflates past its cap or with an
//! absurd ratio is a finding (a zip bomb), never an allocation.

use std::io::{Read, Seek, SeekFrom};

/// Most members read from one archive.
pub(crate) const MAX_MEMBERS: usize = 100_000;
/// Largest central directory accepted.
const MAX_CENTRAL_DIRECTORY: u64 = 64 << 20;

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub name: String,
    pub method: u16,
    pub compressed: u64,
    pub size: u64,
    pub local_offset: u64,
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn read_at<R: Read + Seek>(r: &mut R, at: u64, n: usize) -> Result<Vec<u8>, String> {
    r.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf)
        .map_err(|_| "the archive ends early".to_owned())?;
    Ok(buf)
}

/// The members listed in the central directory.
/// Whether the file ends like a zip archive (an end-of-central-directory record in its
/// last 64 KiB): what `zipfile.is_zipfile` accepts, whatever the file starts with.
pub(crate) fn has_end_record<R: Read + Seek>(r: &mut R, len: u64) -> bool {
    let tail_len = len.min(65_557);
    read_at(r, len - tail_len, tail_len as usize)
        .is_ok_and(|t| t.windows(4).any(|w| w == b"PK\x05\x06"))
}

pub(crate) fn members<R: Read + Seek>(r: &mut R, len: u64) -> Result<Vec<Member>, String> {
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    let tail_len = len.min(65_557);
    let tail = read_at(r, len - tail_len, tail_len as usize)?;
    let eocd = tail
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .ok_or("no end-of-central-directory record: not a readable zip archive")?;
    let mut count = u64::from(u16le(&tail, eocd + 10).ok_or("truncated end record")?);
    let mut cd_size = u64::from(u32le(&tail, eocd + 12).ok_or("truncated end record")?);
    let mut cd_offset = u64::from(u32le(&tail, eocd + 16).ok_or("truncated end record")?);
    // ZIP64: the locator sits just before the end record.
    if eocd >= 20 && tail.get(eocd - 20..eocd - 16) == Some(b"PK\x06\x07".as_slice()) {
        let rec_at = u64le(&tail, eocd - 20 + 8).ok_or("truncated ZIP64 locator")?;
        let rec = read_at(r, rec_at, 56)?;
        if rec.get(..4) != Some(b"PK\x06\x06".as_slice()) {
            return Err("the ZIP64 end record is missing".into());
        }
        count = u64le(&rec, 32).ok_or("truncated ZIP64 end record")?;
        cd_size = u64le(&rec, 40).ok_or("truncated ZIP64 end record")?;
        cd_offset = u64le(&rec, 48).ok_or("truncated ZIP64 end record")?;
    }
    // Data prepended to the archive (a self-extractor stub, a polyglot's other half)
    // shifts every offset; Python's zipfile adds the difference back, so do we.
    let eocd_abs = len - tail_len + eocd as u64;
    let zip64 = eocd >= 20 && tail.get(eocd - 20..eocd - 16) == Some(b"PK\x06\x07".as_slice());
    let concat = if zip64 {
        0
    } else {
        eocd_abs.saturating_sub(cd_size.saturating_add(cd_offset))
    };
    cd_offset = cd_offset.saturating_add(concat);
    if cd_size > MAX_CENTRAL_DIRECTORY || cd_offset.checked_add(cd_size).is_none_or(|end| end > len)
    {
        return Err(format!(
            "the central directory ({cd_size} bytes at {cd_offset}) does not fit the file"
        ));
    }
    if count > MAX_MEMBERS as u64 {
        return Err(format!(
            "{count} members: more than the {MAX_MEMBERS} read from one archive"
        ));
    }
    let cd = read_at(r, cd_offset, cd_size as usize)?;
    let mut out = Vec::new();
    let mut at = 0usize;
    while cd.get(at..at + 4) == Some(b"PK\x01\x02".as_slice()) && out.len() < MAX_MEMBERS {
        let field = |o: usize| u32le(&cd, at + o).ok_or("truncated central directory entry");
        let method = u16le(&cd, at + 10).ok_or("truncated central directory entry")?;
        let mut compressed = u64::from(field(20)?);
        let mut size = u64::from(field(24)?);
        let name_len = usize::from(u16le(&cd, at + 28).ok_or("truncated entry")?);
        let extra_len = usize::from(u16le(&cd, at + 30).ok_or("truncated entry")?);
        let comment_len = usize::from(u16le(&cd, at + 32).ok_or("truncated entry")?);
        let mut local_offset = u64::from(field(42)?);
        let name_at = at + 46;
        let name = cd
            .get(name_at..name_at + name_len)
            .ok_or("truncated entry name")?;
        let extra = cd
            .get(name_at + name_len..name_at + name_len + extra_len)
            .ok_or("truncated entry")?;
        // ZIP64 extended information: the fields that overflowed, in order.
        let mut e = 0usize;
        while e + 4 <= extra.len() {
            let id = u16le(extra, e).unwrap_or(0);
            let n = usize::from(u16le(extra, e + 2).unwrap_or(0));
            if id == 1 {
                let mut p = e + 4;
                for slot in [&mut size, &mut compressed, &mut local_offset] {
                    if *slot == u64::from(u32::MAX) {
                        if let Some(v) = u64le(extra, p) {
                            *slot = v;
                            p += 8;
                        }
                    }
                }
            }
            e += 4 + n;
        }
        out.push(Member {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            compressed,
            size,
            local_offset: local_offset.saturating_add(concat),
        });
        at = name_at + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// Why a member could not be read in full.
#[derive(Debug)]
pub(crate) enum MemberError {
    /// It inflates past `cap`, or with an absurd ratio: a zip bomb.
    TooLarge(u64),
    Unsupported(u16),
    Broken(String),
}

/// Reads a member's data, inflating at most `cap` bytes. Returns the bytes and
/// whether the local header names it differently from the central directory.
pub(crate) fn read_member<R: Read + Seek>(
    r: &mut R,
    m: &Member,
    cap: u64,
) -> Result<(Vec<u8>, bool), MemberError> {
    let broken = |s: &str| MemberError::Broken(s.to_owned());
    let head = read_at(r, m.local_offset, 30).map_err(MemberError::Broken)?;
    if head.get(..4) != Some(b"PK\x03\x04".as_slice()) {
        return Err(broken("no local header where the central directory points"));
    }
    let name_len = u64::from(u16le(&head, 26).ok_or_else(|| broken("truncated local header"))?);
    let extra_len = u64::from(u16le(&head, 28).ok_or_else(|| broken("truncated local header"))?);
    let local_name =
        read_at(r, m.local_offset + 30, name_len as usize).map_err(MemberError::Broken)?;
    let renamed = local_name != m.name.as_bytes();
    let data_at = m.local_offset + 30 + name_len + extra_len;
    r.seek(SeekFrom::Start(data_at))
        .map_err(|e| MemberError::Broken(e.to_string()))?;
    let limited = r.by_ref().take(m.compressed);
    let mut out = Vec::new();
    match m.method {
        0 => {
            if m.compressed > cap {
                return Err(MemberError::TooLarge(m.compressed));
            }
            read_capped(limited, cap, &mut out).map_err(|e| MemberError::Broken(e.to_string()))?;
        }
        8 => {
            let z = flate2::read::DeflateDecoder::new(limited);
            read_capped(z, cap + 1, &mut out)
                .map_err(|e| MemberError::Broken(format!("cannot inflate: {e}")))?;
            if out.len() as u64 > cap {
                return Err(MemberError::TooLarge(m.size));
            }
        }
        other => return Err(MemberError::Unsupported(other)),
    }
    Ok((out, renamed))
}

/// Reads at most `cap` bytes.
#[expect(clippy::disallowed_methods, reason = "bounded by take(cap)")]
pub(crate) fn read_capped<R: Read>(r: R, cap: u64, out: &mut Vec<u8>) -> std::io::Result<usize> {
    r.take(cap).read_to_end(out)
}
