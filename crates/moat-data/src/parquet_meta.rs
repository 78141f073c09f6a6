//! The Parquet footer (FileMetaData, Thrift compact protocol), decoded with hard
//! bounds: only the schema and the row count are read; every length is checked
//! against the bytes left before anything is allocated; nesting is capped.
//!
//! Written by hand on purpose: general Thrift decoders trust declared container
//! sizes, so a few hundred hostile bytes can ask for gigabytes (our property test
//! found a 30 GB allocation that way). Here memory is bounded by the footer size.

use crate::schema::Column;

/// Deepest nesting of structs and containers accepted.
const MAX_DEPTH: usize = 64;
/// Most schema elements (columns and groups) accepted.
pub(crate) const MAX_ELEMENTS: usize = 100_000;
/// Longest column name, and longest dotted path, accepted.
const MAX_NAME: usize = 1024;
const MAX_PATH: usize = 16 * 1024;
/// Most bytes of column paths in one summary: nested groups repeat their prefix in
/// every path, so paths could otherwise grow quadratically with the footer.
const MAX_PATH_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

type R<T> = Result<T, Malformed>;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

// Compact protocol type ids.
const T_STOP: u8 = 0;
const T_TRUE: u8 = 1;
const T_FALSE: u8 = 2;
const T_BYTE: u8 = 3;
const T_I16: u8 = 4;
const T_I32: u8 = 5;
const T_I64: u8 = 6;
const T_DOUBLE: u8 = 7;
const T_BINARY: u8 = 8;
const T_LIST: u8 = 9;
const T_SET: u8 = 10;
const T_MAP: u8 = 11;
const T_STRUCT: u8 = 12;

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn byte(&mut self) -> R<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(Malformed("the footer ends early"))?;
        self.pos += 1;
        Ok(b)
    }

    fn bytes(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(Malformed("length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(Malformed("a length runs past the footer"))?;
        self.pos = end;
        Ok(s)
    }

    fn varint(&mut self) -> R<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(Malformed("varint overflow"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Malformed("varint too long"))
    }

    fn zigzag(&mut self) -> R<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn i32(&mut self) -> R<i32> {
        i32::try_from(self.zigzag()?).map_err(|_| Malformed("i32 out of range"))
    }

    /// A length that must fit in the bytes left (each item takes at least one byte).
    fn len(&mut self) -> R<usize> {
        let n = usize::try_from(self.varint()?).map_err(|_| Malformed("length out of range"))?;
        if n > self.left() {
            return Err(Malformed("a declared length exceeds the footer"));
        }
        Ok(n)
    }

    /// Next field header: `(type, id)`, or `None` at the end of a struct.
    fn field(&mut self, last: &mut i16) -> R<Option<(u8, i16)>> {
        let b = self.byte()?;
        let ty = b & 0x0f;
        if ty == T_STOP {
            return Ok(None);
        }
        let delta = i16::from(b >> 4);
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| Malformed("field id out of range"))?
        } else {
            last.checked_add(delta)
                .ok_or(Malformed("field id overflow"))?
        };
        *last = id;
        Ok(Some((ty, id)))
    }

    /// A list or set header: `(element type, count)`.
    fn list_header(&mut self) -> R<(u8, usize)> {
        let b = self.byte()?;
        let n = match b >> 4 {
            15 => self.len()?,
            n => usize::from(n),
        };
        if n > self.left() {
            return Err(Malformed("a declared list size exceeds the footer"));
        }
        Ok((b & 0x0f, n))
    }

    fn skip(&mut self, ty: u8, depth: usize) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(Malformed("nesting too deep"));
        }
        match ty {
            T_TRUE | T_FALSE => Ok(()),
            T_BYTE => self.byte().map(drop),
            T_I16 | T_I32 | T_I64 => self.varint().map(drop),
            T_DOUBLE => self.bytes(8).map(drop),
            T_BINARY => {
                let n = self.len()?;
                self.bytes(n).map(drop)
            }
            T_LIST | T_SET => {
                let (et, n) = self.list_header()?;
                for _ in 0..n {
                    if et == T_TRUE || et == T_FALSE {
                        self.byte()?;
                    } else {
                        self.skip(et, depth + 1)?;
                    }
                }
                Ok(())
            }
            T_MAP => {
                let n = self.len()?;
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                for _ in 0..n {
                    for t in [kv >> 4, kv & 0x0f] {
                        // In containers a boolean takes a byte of its own.
                        if t == T_TRUE || t == T_FALSE {
                            self.byte()?;
                        } else {
                            self.skip(t, depth + 1)?;
                        }
                    }
                }
                Ok(())
            }
            T_STRUCT => {
                let mut last = 0;
                while let Some((t, _)) = self.field(&mut last)? {
                    self.skip(t, depth + 1)?;
                }
                Ok(())
            }
            _ => Err(Malformed("unknown Thrift type")),
        }
    }
}

/// One SchemaElement, as much of it as a schema summary needs.
#[derive(Debug, Default, Clone)]
struct Element {
    physical: Option<i32>,
    repetition: Option<i32>,
    name: String,
    num_children: i32,
    converted: Option<i32>,
    /// Field id of the set member of the LogicalType union.
    logical: Option<i16>,
}

fn element(r: &mut Reader<'_>) -> R<Element> {
    let mut e = Element::default();
    let mut last = 0;
    while let Some((ty, id)) = r.field(&mut last)? {
        match (id, ty) {
            (1, T_I32) => e.physical = Some(r.i32()?),
            (3, T_I32) => e.repetition = Some(r.i32()?),
            (4, T_BINARY) => {
                let n = r.len()?;
                if n > MAX_NAME {
                    return Err(Malformed("a column name is longer than 1024 bytes"));
                }
                e.name = String::from_utf8_lossy(r.bytes(n)?).into_owned();
            }
            (5, T_I32) => e.num_children = r.i32()?,
            (6, T_I32) => e.converted = Some(r.i32()?),
            (10, T_STRUCT) => {
                let mut l = 0;
                while let Some((t, member)) = r.field(&mut l)? {
                    e.logical.get_or_insert(member);
                    r.skip(t, 2)?;
                }
            }
            (_, t) => r.skip(t, 1)?,
        }
    }
    Ok(e)
}

fn type_name(e: &Element) -> &'static str {
    // LogicalType union members, then the older ConvertedType, then the physical type.
    match e.logical {
        Some(1 | 4 | 12 | 14) => return "string",
        Some(5) => return "decimal",
        Some(6) => return "date",
        Some(7) => return "time",
        Some(8) => return "timestamp",
        Some(10) => return "integer",
        Some(15) => return "float",
        _ => {}
    }
    match e.converted {
        Some(0 | 4 | 19) => return "string",
        Some(5) => return "decimal",
        Some(6) => return "date",
        Some(7 | 8) => return "time",
        Some(9 | 10) => return "timestamp",
        Some(11..=18) => return "integer",
        _ => {}
    }
    match e.physical {
        Some(0) => "boolean",
        Some(1 | 2) => "integer",
        // INT96 is the legacy (Impala, Spark) timestamp.
        Some(3) => "timestamp",
        Some(4 | 5) => "float",
        _ => "binary",
    }
}

/// Columns (leaf paths joined with `.`) and the row count, from footer bytes.
pub(crate) fn decode(footer: &[u8]) -> R<(Vec<Column>, Option<u64>)> {
    let mut r = Reader {
        buf: footer,
        pos: 0,
    };
    let mut elements = Vec::new();
    let mut rows = None;
    let mut last = 0;
    while let Some((ty, id)) = r.field(&mut last)? {
        match (id, ty) {
            (2, T_LIST) => {
                let (et, n) = r.list_header()?;
                if et != T_STRUCT {
                    return Err(Malformed("the schema is not a list of structs"));
                }
                if n > MAX_ELEMENTS {
                    return Err(Malformed("too many schema elements"));
                }
                elements.reserve(n);
                for _ in 0..n {
                    elements.push(element(&mut r)?);
                }
            }
            (3, T_I64) => rows = u64::try_from(r.zigzag()?).ok(),
            (_, t) => r.skip(t, 1)?,
        }
    }
    Ok((columns(&elements)?, rows))
}

/// Walks the depth-first schema list into leaf columns.
fn columns(elements: &[Element]) -> R<Vec<Column>> {
    let Some((root, rest)) = elements.split_first() else {
        return Err(Malformed("the schema is empty"));
    };
    let mut out = Vec::new();
    let mut path_bytes = 0usize;
    // Stack of (path prefix, children left, nullable so far).
    let mut stack: Vec<(String, i64, bool)> =
        vec![(String::new(), i64::from(root.num_children), false)];
    for e in rest {
        while stack.last().is_some_and(|s| s.1 <= 0) {
            stack.pop();
        }
        let Some(parent) = stack.last_mut() else {
            return Err(Malformed("more schema elements than the root declares"));
        };
        parent.1 -= 1;
        let len = parent.0.len() + 1 + e.name.len();
        path_bytes += len;
        if len > MAX_PATH || path_bytes > MAX_PATH_BYTES {
            return Err(Malformed("column paths are too long"));
        }
        let path = if parent.0.is_empty() {
            e.name.clone()
        } else {
            format!("{}.{}", parent.0, e.name)
        };
        let nullable = parent.2 || e.repetition != Some(0);
        if e.num_children > 0 {
            if stack.len() > MAX_DEPTH {
                return Err(Malformed("schema nesting too deep"));
            }
            stack.push((path, i64::from(e.num_children), nullable));
        } else {
            out.push(Column {
                name: path,
                ty: type_name(e).to_owned(),
                nullable,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny compact-protocol writer for tests.
    struct W(Vec<u8>);
    impl W {
        fn varint(&mut self, mut v: u64) {
            loop {
                let b = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    self.0.push(b);
                    break;
                }
                self.0.push(b | 0x80);
            }
        }
        fn field(&mut self, delta: u8, ty: u8) {
            self.0.push((delta << 4) | ty);
        }
        fn i32(&mut self, delta: u8, v: i32) {
            self.field(delta, T_I32);
            self.varint(((v << 1) ^ (v >> 31)) as u32 as u64);
        }
        fn string(&mut self, delta: u8, s: &str) {
            self.field(delta, T_BINARY);
            self.varint(s.len() as u64);
            self.0.extend_from_slice(s.as_bytes());
        }
    }

    fn footer() -> Vec<u8> {
        let mut w = W(Vec::new());
        w.i32(1, 1); // version
        w.field(1, T_LIST);
        w.0.push((4 << 4) | T_STRUCT); // 4 elements
                                       // root: name, num_children = 2
        w.string(4, "schema");
        w.i32(1, 2);
        w.0.push(0);
        // id: INT64 required
        w.i32(1, 2);
        w.i32(2, 0);
        w.string(1, "id");
        w.0.push(0);
        // address group, optional, 1 child
        w.i32(3, 1);
        w.string(1, "address");
        w.i32(1, 1);
        w.0.push(0);
        // address.city: BYTE_ARRAY, required, LogicalType STRING
        w.i32(1, 6);
        w.i32(2, 0);
        w.string(1, "city");
        w.field(6, T_STRUCT); // field 10
        w.field(1, T_STRUCT); // union member 1: STRING {}
        w.0.push(0);
        w.0.push(0);
        w.0.push(0);
        // num_rows = 42
        w.field(1, T_I64);
        w.varint(84);
        w.0.push(0);
        w.0
    }

    #[test]
    fn decodes_schema_and_rows() {
        let (cols, rows) = decode(&footer()).unwrap();
        assert_eq!(rows, Some(42));
        let got: Vec<(&str, &str, bool)> = cols
            .iter()
            .map(|c| (c.name.as_str(), c.ty.as_str(), c.nullable))
            .collect();
        assert_eq!(
            got,
            vec![("id", "integer", false), ("address.city", "string", true)]
        );
    }

    #[test]
    fn hostile_lengths_are_refused_without_allocating() {
        // A list claiming 2^40 elements in a few bytes.
        let mut w = W(Vec::new());
        w.field(2, T_LIST);
        w.0.push(0xf0 | T_STRUCT);
        w.varint(1 << 40);
        assert!(decode(&w.0).is_err());
        // A string claiming 4 GB.
        let mut w = W(Vec::new());
        w.field(5, T_BINARY);
        w.varint(1 << 32);
        assert!(decode(&w.0).is_err());
        // Deep nesting.
        let mut deep = vec![(7 << 4) | T_STRUCT; 10_000];
        deep.push(0);
        assert!(decode(&deep).is_err());
        // A long group name repeated in many paths.
        let mut w = W(Vec::new());
        w.field(2, T_LIST);
        w.0.push(0xf0 | T_STRUCT);
        w.varint(3 + 60_000);
        w.string(4, "root");
        w.i32(1, 1);
        w.0.push(0);
        w.string(4, &"g".repeat(1000));
        w.i32(1, 60_000);
        w.0.push(0);
        for _ in 0..60_001 {
            w.0.push(0);
        }
        w.0.push(0);
        assert_eq!(
            decode(&w.0).unwrap_err(),
            Malformed("column paths are too long")
        );
        // A map of booleans consumes a byte per key and value.
        let mut w = W(Vec::new());
        w.field(9, T_MAP);
        w.varint(2);
        w.0.push((T_TRUE << 4) | T_FALSE);
        w.0.extend_from_slice(&[1, 0, 1, 0]);
        w.i32(1, 5);
        w.0.push(0);
        assert!(
            decode(&w.0).is_err(),
            "no schema, but the map itself is read"
        );
        // Truncated at every position.
        let f = footer();
        for cut in 0..f.len() {
            assert!(decode(&f[..cut]).is_err(), "{cut}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = decode(&bytes);
        }
    }
}
