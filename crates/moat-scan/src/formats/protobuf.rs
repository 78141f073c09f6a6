//! A bounded reader of the protobuf wire format over a seekable file, for the graph
//! formats (ONNX `ModelProto`, TensorFlow `SavedModel`). Nothing is decoded into a
//! message tree: callers walk fields by position, read the short strings they judge
//! and skip everything else (tensor data is never read), so memory does not grow with
//! the file and a 2 GB model costs a walk over its field headers.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

/// Longest string read for judging (an op type, a domain, a path, an attribute).
pub(crate) const MAX_STRING: u64 = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    Varint(u64),
    Fixed,
    /// A length-delimited field: a sub-message, a string or packed data.
    Bytes(Span),
}

/// A byte range of the file: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    pub number: u64,
    pub value: Value,
    /// Where the field's tag starts.
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    #[error("the protobuf is malformed at byte {0}")]
    Malformed(u64),
    #[error("the file cannot be read: {0}")]
    Io(String),
    #[error("more than {0} graph nodes")]
    Limit(u64),
}

pub(crate) struct Wire<R> {
    r: BufReader<R>,
    /// Where the buffered reader stands.
    cur: u64,
    len: u64,
}

impl<R: Read + Seek> Wire<R> {
    pub(crate) fn new(r: R, len: u64) -> Self {
        Wire {
            r: BufReader::with_capacity(64 << 10, r),
            cur: u64::MAX,
            len,
        }
    }

    pub(crate) fn whole(&self) -> Span {
        Span {
            start: 0,
            end: self.len,
        }
    }

    fn goto(&mut self, pos: u64) -> Result<(), WireError> {
        if pos == self.cur {
            return Ok(());
        }
        let delta = i64::try_from(pos).ok().zip(i64::try_from(self.cur).ok());
        let res = match delta {
            Some((p, c)) if self.cur != u64::MAX && (p - c).abs() < (32 << 10) => {
                self.r.seek_relative(p - c)
            }
            _ => self.r.seek(SeekFrom::Start(pos)).map(|_| ()),
        };
        res.map_err(|e| WireError::Io(e.to_string()))?;
        self.cur = pos;
        Ok(())
    }

    fn byte(&mut self) -> Result<Option<u8>, WireError> {
        let buf = self
            .r
            .fill_buf()
            .map_err(|e| WireError::Io(e.to_string()))?;
        let b = buf.first().copied();
        if b.is_some() {
            self.r.consume(1);
            self.cur += 1;
        }
        Ok(b)
    }

    fn varint(&mut self, end: u64) -> Result<u64, WireError> {
        let at = self.cur;
        let mut v: u64 = 0;
        for i in 0..10u32 {
            if self.cur >= end {
                return Err(WireError::Malformed(at));
            }
            let b = self.byte()?.ok_or(WireError::Malformed(at))?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(WireError::Malformed(at))
    }

    /// The next field of the message `within`, advancing `pos`; `None` at its end.
    pub(crate) fn next(&mut self, pos: &mut u64, within: Span) -> Result<Option<Field>, WireError> {
        if *pos >= within.end {
            return Ok(None);
        }
        let at = *pos;
        self.goto(at)?;
        let tag = self.varint(within.end)?;
        let number = tag >> 3;
        if number == 0 {
            return Err(WireError::Malformed(at));
        }
        let value = match tag & 7 {
            0 => Value::Varint(self.varint(within.end)?),
            1 => {
                self.skip_to(self.cur + 8, within.end, at)?;
                Value::Fixed
            }
            5 => {
                self.skip_to(self.cur + 4, within.end, at)?;
                Value::Fixed
            }
            2 => {
                let n = self.varint(within.end)?;
                let start = self.cur;
                let end = start.checked_add(n).ok_or(WireError::Malformed(at))?;
                self.skip_to(end, within.end, at)?;
                Value::Bytes(Span { start, end })
            }
            // Groups (3, 4) are long deprecated and unused by the graph formats.
            _ => return Err(WireError::Malformed(at)),
        };
        *pos = self.cur;
        Ok(Some(Field { number, value, at }))
    }

    fn skip_to(&mut self, to: u64, end: u64, at: u64) -> Result<(), WireError> {
        if to > end || to > self.len {
            return Err(WireError::Malformed(at));
        }
        self.goto(to)
    }

    /// The bytes of a span, when it is at most [`MAX_STRING`] long.
    pub(crate) fn bytes(&mut self, s: Span) -> Result<Option<Vec<u8>>, WireError> {
        self.bytes_upto(s, MAX_STRING)
    }

    /// The bytes of a span, when it is at most `cap` long.
    pub(crate) fn bytes_upto(&mut self, s: Span, cap: u64) -> Result<Option<Vec<u8>>, WireError> {
        let n = s.end.saturating_sub(s.start);
        if n > cap {
            return Ok(None);
        }
        self.goto(s.start)?;
        let mut out = vec![0u8; usize::try_from(n).unwrap_or(0)];
        self.r
            .read_exact(&mut out)
            .map_err(|e| WireError::Io(e.to_string()))?;
        self.cur = s.end;
        Ok(Some(out))
    }

    /// A short string field, lossily decoded; `None` when longer than [`MAX_STRING`].
    pub(crate) fn string(&mut self, s: Span) -> Result<Option<String>, WireError> {
        Ok(self
            .bytes(s)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Whether `span` is a well-formed message whose fields end exactly at its end.
    pub(crate) fn is_message(&mut self, span: Span, max_fields: usize) -> bool {
        let mut pos = span.start;
        for _ in 0..max_fields {
            match self.next(&mut pos, span) {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn walks_fields_and_skips_payloads() {
        // field 1 varint 300; field 2 bytes "abc"; field 3 fixed32.
        let data = [
            0x08, 0xac, 0x02, 0x12, 3, b'a', b'b', b'c', 0x1d, 1, 2, 3, 4,
        ];
        let mut w = Wire::new(Cursor::new(&data[..]), data.len() as u64);
        let whole = w.whole();
        let mut pos = 0;
        let a = w.next(&mut pos, whole).unwrap().unwrap();
        assert_eq!((a.number, a.value), (1, Value::Varint(300)));
        let b = w.next(&mut pos, whole).unwrap().unwrap();
        let Value::Bytes(s) = b.value else { panic!() };
        assert_eq!(w.string(s).unwrap().unwrap(), "abc");
        let c = w.next(&mut pos, whole).unwrap().unwrap();
        assert_eq!((c.number, c.value), (3, Value::Fixed));
        assert!(w.next(&mut pos, whole).unwrap().is_none());
        assert!(w.is_message(whole, 100));
    }

    #[test]
    fn rejects_lengths_past_the_end() {
        let data = [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0];
        let mut w = Wire::new(Cursor::new(&data[..]), data.len() as u64);
        let whole = w.whole();
        assert!(!w.is_message(whole, 10));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let mut w = Wire::new(Cursor::new(&bytes), bytes.len() as u64);
            let whole = w.whole();
            let mut pos = 0;
            while let Ok(Some(f)) = w.next(&mut pos, whole) {
                if let Value::Bytes(s) = f.value {
                    let _ = w.is_message(s, 100);
                }
            }
        }
    }
}
