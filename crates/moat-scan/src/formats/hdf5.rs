//! HDF5 files, for Keras 2 models saved as `.h5`: the root group's `model_config`
//! (and `training_config`) attributes hold the model as JSON, with `Lambda` layers as
//! marshalled Python bytecode that runs when the model is loaded. Only what reaching
//! those attributes needs is read: the superblock (versions 0–3), the root object
//! header (versions 1 and 2, with continuation blocks), attribute messages (versions
//! 1–3), fixed-length and variable-length string values, and the global heap that
//! holds the latter. Weights are never read. Every read is bounded; attributes in
//! dense storage (which Keras never writes) are reported, not parsed.

use std::io::{Read, Seek, SeekFrom};

use crate::finding::{Finding, Rule, Severity};
use crate::formats::keras;

pub(crate) const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Largest attribute value read.
const MAX_VALUE: u64 = 16 << 20;
/// Messages walked in the root object header, all blocks together.
const MAX_MESSAGES: usize = 4096;
/// Continuation blocks followed.
const MAX_BLOCKS: usize = 64;
const UNDEF: u64 = u64::MAX;

#[derive(Debug)]
struct Bad(String);

fn bad<T>(why: impl Into<String>) -> Result<T, Bad> {
    Err(Bad(why.into()))
}

struct File<R> {
    r: R,
    len: u64,
    /// Size of offsets and of lengths (2, 4 or 8).
    so: usize,
    sl: usize,
    base: u64,
}

fn uint(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| acc.wrapping_shl(8) | u64::from(x))
}

fn field(b: &[u8], at: usize, n: usize) -> Result<u64, Bad> {
    match b.get(at..at.saturating_add(n)) {
        Some(s) if s.len() == n => Ok(uint(s)),
        _ => bad("a field runs past its message"),
    }
}

impl<R: Read + Seek> File<R> {
    fn read(&mut self, at: u64, n: u64) -> Result<Vec<u8>, Bad> {
        if n > MAX_VALUE || at.checked_add(n).is_none_or(|end| end > self.len) {
            return bad(format!("a read of {n} bytes at {at} runs past the file"));
        }
        self.r
            .seek(SeekFrom::Start(at))
            .map_err(|e| Bad(e.to_string()))?;
        let mut buf = vec![0u8; usize::try_from(n).unwrap_or(0)];
        self.r
            .read_exact(&mut buf)
            .map_err(|e| Bad(e.to_string()))?;
        Ok(buf)
    }

    fn addr(&self, rel: u64) -> Result<u64, Bad> {
        if rel == UNDEF || (self.so < 8 && rel == (1u64 << (8 * self.so)) - 1) {
            return bad("an undefined address");
        }
        self.base
            .checked_add(rel)
            .filter(|a| *a < self.len)
            .map_or_else(|| bad(format!("address {rel} is outside the file")), Ok)
    }
}

/// Finds the superblock (at 0, 512, 1024, … for a user block) and returns the file with
/// the root object header's address.
fn open<R: Read + Seek>(r: R, len: u64) -> Result<(File<R>, u64), Bad> {
    let mut f = File {
        r,
        len,
        so: 8,
        sl: 8,
        base: 0,
    };
    let mut at = 0u64;
    loop {
        if at + 64 > len {
            return bad("no HDF5 superblock");
        }
        if f.read(at, 8)? == SIGNATURE {
            break;
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    let sb = f.read(at, 64.min(len - at))?;
    let version = field(&sb, 8, 1)?;
    let oh = match version {
        0 | 1 => {
            f.so = usize::try_from(field(&sb, 13, 1)?).unwrap_or(0);
            f.sl = usize::try_from(field(&sb, 14, 1)?).unwrap_or(0);
            check_sizes(&f)?;
            let p = 24 + if version == 1 { 4 } else { 0 };
            let sb = f.read(at, (p + 6 * f.so) as u64)?;
            f.base = field(&sb, p, f.so)?;
            // base, free space, end of file, driver info; then the root symbol table
            // entry: link name offset, object header address.
            field(&sb, p + 5 * f.so, f.so)?
        }
        2 | 3 => {
            f.so = usize::try_from(field(&sb, 9, 1)?).unwrap_or(0);
            f.sl = usize::try_from(field(&sb, 10, 1)?).unwrap_or(0);
            check_sizes(&f)?;
            f.base = field(&sb, 12, f.so)?;
            field(&sb, 12 + 3 * f.so, f.so)?
        }
        v => return bad(format!("superblock version {v} is unknown")),
    };
    let oh = f.addr(oh)?;
    Ok((f, oh))
}

fn check_sizes<R>(f: &File<R>) -> Result<(), Bad> {
    if [2, 4, 8].contains(&f.so) && [2, 4, 8].contains(&f.sl) {
        Ok(())
    } else {
        bad(format!(
            "sizes of offsets {} and lengths {} are invalid",
            f.so, f.sl
        ))
    }
}

/// A message of the root object header: type, file offset of its data, its data.
struct Message {
    kind: u16,
    at: u64,
    data: Vec<u8>,
}

fn messages<R: Read + Seek>(f: &mut File<R>, oh: u64) -> Result<Vec<Message>, Bad> {
    let head = f.read(oh, 32.min(f.len - oh))?;
    // (version 1 or 2, start, end, creation order stored)
    let mut todo: Vec<(u8, u64, u64)> = Vec::new();
    let mut corder = false;
    if head.starts_with(b"OHDR") {
        let flags = field(&head, 5, 1)?;
        let mut p =
            6 + if flags & 0x20 != 0 { 16 } else { 0 } + if flags & 0x10 != 0 { 4 } else { 0 };
        let n = 1usize << (flags & 3);
        let size = field(&head, p, n)?;
        p += n;
        corder = flags & 0x04 != 0;
        let start = oh + p as u64;
        todo.push((2, start, start.saturating_add(size)));
    } else {
        if field(&head, 0, 1)? != 1 {
            return bad("the root object header has an unknown version");
        }
        let size = field(&head, 8, 4)?;
        todo.push((1, oh + 16, (oh + 16).saturating_add(size)));
    }
    let mut out = Vec::new();
    let mut blocks = 0;
    let mut seen = std::collections::HashSet::new();
    while let Some((version, start, end)) = todo.pop() {
        blocks += 1;
        if blocks > MAX_BLOCKS || !seen.insert(start) {
            return bad("the object header's continuation blocks loop or never end");
        }
        let block = f.read(start, end.saturating_sub(start))?;
        let mut p = 0usize;
        if version == 2 && blocks > 1 {
            if !block.starts_with(b"OCHK") {
                return bad("a continuation block lacks its signature");
            }
            p = 4;
        }
        // Version 2 continuation blocks end with a 4-byte checksum (chunk 0's size
        // leaves its checksum out).
        let stop = if version == 2 && blocks > 1 {
            block.len().saturating_sub(4)
        } else {
            block.len()
        };
        while p < stop {
            if out.len() >= MAX_MESSAGES {
                return bad("the object header has too many messages");
            }
            let (kind, size, hdr) = if version == 1 {
                (field(&block, p, 2)?, field(&block, p + 2, 2)?, 8)
            } else {
                if stop - p < 4 {
                    break;
                }
                (
                    field(&block, p, 1)?,
                    field(&block, p + 1, 2)?,
                    4 + if corder { 2 } else { 0 },
                )
            };
            let d = p + hdr;
            let e = d + usize::try_from(size).unwrap_or(usize::MAX);
            let data = block
                .get(d..e.min(block.len()))
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            if e > block.len() {
                return bad("a message runs past its block");
            }
            if kind == 0x10 {
                let ca = f.addr(field(&data, 0, f.so)?)?;
                let cl = field(&data, f.so, f.sl)?;
                todo.push((version, ca, ca.saturating_add(cl)));
            }
            out.push(Message {
                kind: u16::try_from(kind).unwrap_or(0),
                at: start + d as u64,
                data,
            });
            p = if version == 1 { (e + 7) & !7 } else { e };
        }
    }
    Ok(out)
}

/// An attribute's name and, for a string attribute, its value.
fn attribute<R: Read + Seek>(f: &mut File<R>, m: &[u8]) -> Result<(String, Option<Vec<u8>>), Bad> {
    let version = field(m, 0, 1)?;
    let flags = field(m, 1, 1)?;
    let (nsz, dsz, ssz) = (field(m, 2, 2)?, field(m, 4, 2)?, field(m, 6, 2)?);
    let pad = |n: u64| if version == 1 { (n + 7) & !7 } else { n };
    let mut q = 8usize + if version == 3 { 1 } else { 0 };
    let to = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let name_bytes = m.get(q..q.saturating_add(to(nsz))).unwrap_or_default();
    let name = String::from_utf8_lossy(name_bytes.split(|b| *b == 0).next().unwrap_or_default())
        .into_owned();
    if flags & 3 != 0 {
        return Ok((name, None));
    }
    q = q.saturating_add(to(pad(nsz)));
    let dt = m.get(q..q.saturating_add(to(dsz))).unwrap_or_default();
    q = q.saturating_add(to(pad(dsz)));
    let ds = m.get(q..q.saturating_add(to(ssz))).unwrap_or_default();
    q = q.saturating_add(to(pad(ssz)));
    let data = m.get(q..).unwrap_or_default();
    // Only scalar strings are of interest.
    let rank = field(ds, 1, 1)?;
    if rank != 0 {
        return Ok((name, None));
    }
    let class = field(dt, 0, 1)? & 0x0f;
    let bits = field(dt, 1, 3)?;
    let size = field(dt, 4, 4)?;
    let value = match class {
        3 => data.get(..to(size)).map(|v| {
            let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
            v.get(..end).unwrap_or_default().to_vec()
        }),
        9 if bits & 0x0f == 1 => {
            let n = field(data, 0, 4)?;
            let coll = f.addr(field(data, 4, f.so)?)?;
            let index = field(data, 4 + f.so, 4)?;
            Some(global_heap_object(f, coll, index, n)?)
        }
        _ => None,
    };
    Ok((name, value))
}

/// Object `index` of the global heap collection at `coll`, at most `n` bytes of it.
fn global_heap_object<R: Read + Seek>(
    f: &mut File<R>,
    coll: u64,
    index: u64,
    n: u64,
) -> Result<Vec<u8>, Bad> {
    let head = f.read(coll, 8 + f.sl as u64)?;
    if !head.starts_with(b"GCOL") {
        return bad("a string points at something that is not a global heap");
    }
    let size = field(&head, 8, f.sl)?;
    let end = coll.saturating_add(size).min(f.len);
    let mut p = coll + 8 + f.sl as u64;
    let obj_head = 8 + f.sl as u64;
    let mut steps = 0;
    while p + obj_head <= end {
        steps += 1;
        if steps > 1 << 16 {
            break;
        }
        let h = f.read(p, obj_head)?;
        let (i, osz) = (field(&h, 0, 2)?, field(&h, 8, f.sl)?);
        if i == index {
            return f.read(p + obj_head, osz.min(n).min(MAX_VALUE));
        }
        if i == 0 {
            break;
        }
        p = p.saturating_add(obj_head).saturating_add((osz + 7) & !7);
    }
    bad(format!("global heap object {index} is missing"))
}

/// The attribute messages of dense storage: the name index (a version 2 B-tree of
/// type 8, one leaf) gives heap IDs into a fractal heap; managed objects live in its
/// root direct block, huge ones are found through its huge-object B-tree (type 1).
fn dense_attributes<R: Read + Seek>(
    f: &mut File<R>,
    heap: u64,
    btree: u64,
) -> Result<Vec<(u64, Vec<u8>)>, Bad> {
    let heap = f.addr(heap)?;
    let (so, sl) = (f.so, f.sl);
    let h = f.read(heap, (14 + 12 * sl + 4 * so + 16) as u64)?;
    if !h.starts_with(b"FRHP") {
        return bad("the attribute heap is not a fractal heap");
    }
    let id_len = field(&h, 5, 2)?;
    let filters = field(&h, 7, 2)?;
    let max_managed = field(&h, 10, 4)?;
    let huge_btree = field(&h, 14 + sl, so)?;
    let p = 14 + sl + so + sl + so + 8 * sl;
    let max_direct = field(&h, p + 2 + sl, sl)?;
    let heap_bits = field(&h, p + 2 + 2 * sl, 2)?;
    let q = p + 2 + 2 * sl + 4;
    let root = field(&h, q, so)?;
    let rows = field(&h, q + so, 2)?;
    let off_size = usize::try_from(heap_bits.div_ceil(8)).unwrap_or(8);
    let len_size = usize::try_from((64 - max_direct.min(max_managed).leading_zeros()).div_ceil(8))
        .unwrap_or(8);
    let mut out = Vec::new();
    for id in btree_records(f, btree, 17)? {
        let id = id.get(..8).unwrap_or_default().to_vec();
        match (field(&id, 0, 1)? >> 4) & 3 {
            0 => {
                if rows != 0 {
                    return bad("the heap's root is an indirect block");
                }
                let off = field(&id, 1, off_size)?;
                let len = field(&id, 1 + off_size, len_size)?;
                let block = f.addr(root)?;
                let at = block
                    .checked_add(off)
                    .ok_or(Bad("offset overflow".into()))?;
                out.push((at, f.read(at, len)?));
            }
            1 => {
                if filters != 0 {
                    return bad("filtered huge attributes");
                }
                let want = uint(
                    id.get(1..usize::try_from(id_len).unwrap_or(8).min(8))
                        .unwrap_or_default(),
                );
                let recs = btree_records(f, huge_btree, (so + 2 * sl) as u64)?;
                let rec = recs
                    .iter()
                    .find(|r| field(r, so + sl, sl).ok() == Some(want))
                    .ok_or(Bad("a huge attribute is missing".into()))?;
                let at = f.addr(field(rec, 0, so)?)?;
                let len = field(rec, so, sl)?;
                out.push((at, f.read(at, len)?));
            }
            _ => return bad("tiny heap objects"),
        }
    }
    Ok(out)
}

/// The records of a version 2 B-tree with a single leaf.
fn btree_records<R: Read + Seek>(
    f: &mut File<R>,
    at: u64,
    record: u64,
) -> Result<Vec<Vec<u8>>, Bad> {
    let at = f.addr(at)?;
    let h = f.read(at, (18 + f.so + 2) as u64)?;
    if !h.starts_with(b"BTHD") {
        return bad("the attribute index is not a B-tree");
    }
    let size = field(&h, 10, 2)?;
    let depth = field(&h, 12, 2)?;
    if depth != 0 || size < record {
        return bad("a B-tree deeper than one leaf");
    }
    let root = f.addr(field(&h, 16, f.so)?)?;
    let n = field(&h, 16 + f.so, 2)?;
    let leaf = f.read(root, 6 + n * size)?;
    if !leaf.starts_with(b"BTLF") {
        return bad("the B-tree leaf lacks its signature");
    }
    let to = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
    Ok((0..n)
        .filter_map(|i| {
            leaf.get(to(6 + i * size)..to(6 + (i + 1) * size))
                .map(<[u8]>::to_vec)
        })
        .collect())
}

/// Whether the file holds a Keras model: its findings, or why it could not be read.
pub(crate) fn check<R: Read + Seek>(r: R, len: u64) -> (bool, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut keras_model = false;
    let result = (|| -> Result<(), Bad> {
        let (mut f, oh) = open(r, len)?;
        let mut pending = messages(&mut f, oh)?;
        pending.reverse();
        while let Some(m) = pending.pop() {
            match m.kind {
                0x0C => {
                    let (name, value) = attribute(&mut f, &m.data)?;
                    if name != "model_config" && name != "training_config" {
                        continue;
                    }
                    let Some(value) = value else { continue };
                    keras_model |= name == "model_config";
                    findings.extend(keras::check_config(&value).into_iter().map(|mut x| {
                        x.offset = m.at;
                        x.message = format!("{} (in `{name}`)", x.message);
                        x
                    }));
                }
                0x15 => {
                    // Attribute info: a defined fractal heap address means dense storage.
                    let flags = field(&m.data, 1, 1)?;
                    let at = 2 + if flags & 1 != 0 { 2 } else { 0 };
                    let heap = field(&m.data, at, f.so)?;
                    let undefined = heap == UNDEF || (f.so < 8 && heap == (1u64 << (8 * f.so)) - 1);
                    if undefined {
                        continue;
                    }
                    let btree = field(&m.data, at + f.so, f.so)?;
                    match dense_attributes(&mut f, heap, btree) {
                        Ok(attrs) => {
                            for (at, data) in attrs {
                                pending.push(Message { kind: 0x0C, at, data });
                            }
                        }
                        Err(Bad(why)) => findings.push(Finding {
                            severity: Severity::High,
                            rule: Rule::ResourceLimit,
                            message: format!("the root group keeps its attributes in a dense storage layout Keras never writes and the scanner cannot follow ({why}): the model config was not examined"),
                            offset: m.at,
                        }),
                    }
                }
                _ => {}
            }
        }
        Ok(())
    })();
    if let Err(Bad(why)) = result {
        findings.push(Finding {
            severity: Severity::Medium,
            rule: Rule::MalformedHeader,
            message: format!(
                "the HDF5 structure is unreadable ({why}): loaders reject or misread it"
            ),
            offset: 0,
        });
    }
    (keras_model, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let mut b = SIGNATURE.to_vec();
            b.extend_from_slice(&bytes);
            let _ = check(Cursor::new(&b), b.len() as u64);
        }
    }
}
