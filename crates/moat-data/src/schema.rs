//! Schema summaries of dataset files: the format, sniffed from the bytes (never the
//! name), and the columns with their inferred types.
//!
//! Hostile input is expected: only the first [`SAMPLE_BYTES`] of a text file are read,
//! a Parquet footer larger than [`MAX_FOOTER`] is refused, and the footer is decoded by
//! a bounded reader (`parquet_meta`).

use std::io::{Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

/// How much of a text file is sampled to infer column types.
pub const SAMPLE_BYTES: u64 = 16 * 1024 * 1024;
/// The largest Parquet footer accepted.
pub const MAX_FOOTER: u64 = 64 * 1024 * 1024;
const SAMPLE_ROWS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read the dataset")]
    Io(#[from] std::io::Error),
    #[error("malformed Parquet file: {0}")]
    Parquet(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Parquet,
    Jsonl,
    /// Not a tabular format we read: only the digest is recorded.
    Other,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Jsonl => "jsonl",
            Format::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// `integer`, `float`, `boolean`, `string`, `date`, `timestamp`, `decimal`,
    /// `binary`, `object`, `array` or `null` (only nulls seen).
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether a null or empty value was seen (Parquet: the column is optional).
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaSummary {
    pub format: Format,
    pub columns: Vec<Column>,
    /// Exact row count when the format records it (Parquet).
    pub rows: Option<u64>,
    /// Rows read to infer types (text formats).
    pub sampled_rows: Option<u64>,
}

/// Sniffs the format and summarises the schema.
pub fn summarize<R: Read + Seek>(mut r: R) -> Result<SchemaSummary, Error> {
    let len = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(0))?;
    let mut head = [0u8; 4];
    let n = read_up_to(&mut r, &mut head)?;
    if n == 4 && &head == b"PAR1" && len >= 12 {
        return parquet_summary(&mut r, len);
    }
    r.seek(SeekFrom::Start(0))?;
    let mut sample = Vec::new();
    read_sample(r, &mut sample)?;
    if sample.contains(&0) || std::str::from_utf8(trim_partial_utf8(&sample)).is_err() {
        return Ok(other());
    }
    let first = sample.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') => Ok(jsonl_summary(&sample)),
        Some(_) => Ok(csv_summary(&sample)),
        None => Ok(other()),
    }
}

#[expect(clippy::disallowed_methods, reason = "bounded by take(SAMPLE_BYTES)")]
fn read_sample<R: Read>(r: R, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    r.take(SAMPLE_BYTES).read_to_end(buf)
}

fn other() -> SchemaSummary {
    SchemaSummary {
        format: Format::Other,
        columns: Vec::new(),
        rows: None,
        sampled_rows: None,
    }
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) {
        match r.read(rest)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The sample may end inside a multi-byte character; ignore at most 3 trailing bytes.
fn trim_partial_utf8(s: &[u8]) -> &[u8] {
    for cut in 0..4 {
        let Some(t) = s.len().checked_sub(cut).and_then(|end| s.get(..end)) else {
            break;
        };
        if std::str::from_utf8(t).is_ok() {
            return t;
        }
    }
    s
}

/// Drops a final line that the sample cut in the middle (`truncated`: the file was
/// longer than the sample).
fn complete_lines(s: &[u8], truncated: bool) -> &[u8] {
    if truncated {
        if let Some(t) = s
            .iter()
            .rposition(|&b| b == b'\n')
            .and_then(|p| s.get(..=p))
        {
            return t;
        }
    }
    s
}

fn merge(a: &'static str, b: &'static str) -> &'static str {
    match (a, b) {
        (x, y) if x == y => x,
        ("null", y) => y,
        (x, "null") => x,
        ("integer", "float") | ("float", "integer") => "float",
        _ => "string",
    }
}

fn csv_value_type(v: &str) -> &'static str {
    let t = v.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("na") || t.eq_ignore_ascii_case("null") {
        "null"
    } else if t.parse::<i64>().is_ok() {
        "integer"
    } else if t.parse::<f64>().is_ok() {
        "float"
    } else if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        "boolean"
    } else {
        "string"
    }
}

/// Most columns read from a text file; a wider header is cut there.
pub const MAX_COLUMNS: usize = 10_000;

fn csv_summary(sample: &[u8]) -> SchemaSummary {
    let truncated = sample.len() as u64 >= SAMPLE_BYTES;
    let text = complete_lines(trim_partial_utf8(sample), truncated);
    let first_line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    // The delimiter that splits the header most consistently.
    let delimiter = [b',', b'\t', b';', b'|']
        .into_iter()
        .max_by_key(|d| first_line.iter().filter(|b| *b == d).count())
        .unwrap_or(b',');
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().take(MAX_COLUMNS).map(str::to_owned).collect(),
        Err(_) => return other(),
    };
    let mut types = vec!["null"; headers.len()];
    let mut nullable = vec![false; headers.len()];
    // Columns past the shortest record were missing somewhere: nullable. Tracking the
    // shortest record keeps the work linear in the sample.
    let mut shortest = headers.len();
    let mut rows = 0u64;
    for rec in rdr.records().take(SAMPLE_ROWS) {
        let Ok(rec) = rec else { break };
        rows += 1;
        shortest = shortest.min(rec.len());
        for ((v, ty), null) in rec.iter().zip(types.iter_mut()).zip(nullable.iter_mut()) {
            let t = csv_value_type(v);
            *null |= t == "null";
            *ty = merge(ty, t);
        }
    }
    for n in nullable.iter_mut().skip(shortest) {
        *n = true;
    }
    SchemaSummary {
        format: Format::Csv,
        columns: headers
            .into_iter()
            .zip(types)
            .zip(nullable)
            .map(|((name, ty), nullable)| Column {
                name,
                ty: ty.to_owned(),
                nullable,
            })
            .collect(),
        rows: None,
        sampled_rows: Some(rows),
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "float",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn jsonl_summary(sample: &[u8]) -> SchemaSummary {
    let truncated = sample.len() as u64 >= SAMPLE_BYTES;
    let text = complete_lines(trim_partial_utf8(sample), truncated);
    // Per column, in order of first appearance: type, a null seen, rows holding it.
    let mut order: Vec<String> = Vec::new();
    let mut cols: std::collections::HashMap<String, (&'static str, bool, u64)> =
        std::collections::HashMap::new();
    let mut rows = 0u64;
    for line in text
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(SAMPLE_ROWS)
    {
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(line)
        else {
            if rows == 0 {
                return other();
            }
            continue;
        };
        for (k, v) in &obj {
            let t = json_type(v);
            let full = cols.len() >= MAX_COLUMNS;
            match cols.get_mut(k.as_str()) {
                Some((ty, null, seen)) => {
                    *ty = merge(ty, t);
                    *null |= t == "null";
                    *seen += 1;
                }
                None if !full => {
                    cols.insert(k.clone(), (t, t == "null", 1));
                    order.push(k.clone());
                }
                None => {}
            }
        }
        rows += 1;
    }
    SchemaSummary {
        format: Format::Jsonl,
        columns: order
            .into_iter()
            .filter_map(|name| {
                let (ty, null, seen) = *cols.get(&name)?;
                // A key missing from some rows is nullable too.
                Some(Column {
                    name,
                    ty: ty.to_owned(),
                    nullable: null || seen < rows,
                })
            })
            .collect(),
        rows: None,
        sampled_rows: Some(rows),
    }
}

fn parquet_summary<R: Read + Seek>(r: &mut R, len: u64) -> Result<SchemaSummary, Error> {
    r.seek(SeekFrom::Start(len - 8))?;
    let mut tail = [0u8; 8];
    r.read_exact(&mut tail)?;
    if &tail[4..] != b"PAR1" {
        return Err(Error::Parquet("missing the closing PAR1 magic".into()));
    }
    let meta_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if meta_len > MAX_FOOTER || meta_len + 12 > len {
        return Err(Error::Parquet(format!(
            "declared footer of {meta_len} bytes does not fit the file"
        )));
    }
    r.seek(SeekFrom::Start(len - 8 - meta_len))?;
    let mut buf = vec![0u8; meta_len as usize];
    r.read_exact(&mut buf)?;
    let (columns, rows) =
        crate::parquet_meta::decode(&buf).map_err(|m| Error::Parquet(m.0.to_owned()))?;
    Ok(SchemaSummary {
        format: Format::Parquet,
        columns,
        rows,
        sampled_rows: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn check(input: &[u8], format: Format, expect: &[(&str, &str, bool)]) {
        let s = summarize(Cursor::new(input)).unwrap();
        assert_eq!(s.format, format);
        let got: Vec<(&str, &str, bool)> = s
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.as_str(), c.nullable))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn csv_types() {
        check(
            b"id,score,name,ok\n1,0.5,a,true\n2,,b,false\n3,7,c,true\n",
            Format::Csv,
            &[
                ("id", "integer", false),
                ("score", "float", true),
                ("name", "string", false),
                ("ok", "boolean", false),
            ],
        );
        check(
            b"a\tb\n1\tx\n",
            Format::Csv,
            &[("a", "integer", false), ("b", "string", false)],
        );
    }

    #[test]
    fn jsonl_types() {
        check(
            b"{\"a\":1,\"b\":\"x\"}\n{\"a\":2.5,\"c\":[1]}\n",
            Format::Jsonl,
            &[
                ("a", "float", false),
                ("b", "string", true),
                ("c", "array", true),
            ],
        );
    }

    #[test]
    fn binary_and_empty_are_other() {
        check(b"\x80\x04\x95\x00\x00", Format::Other, &[]);
        check(b"", Format::Other, &[]);
        check(b"{not json\n", Format::Other, &[]);
    }

    #[test]
    fn hostile_parquet_footers_are_errors() {
        let mut f = b"PAR1".to_vec();
        f.extend_from_slice(&[0xff; 20]);
        f.extend_from_slice(&u32::MAX.to_le_bytes());
        f.extend_from_slice(b"PAR1");
        assert!(matches!(summarize(Cursor::new(&f)), Err(Error::Parquet(_))));
        let mut g = b"PAR1".to_vec();
        g.extend_from_slice(&[0xff; 20]);
        g.extend_from_slice(&10u32.to_le_bytes());
        g.extend_from_slice(b"PAR1");
        assert!(matches!(summarize(Cursor::new(&g)), Err(Error::Parquet(_))));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = summarize(Cursor::new(&bytes));
            let mut p = b"PAR1".to_vec();
            p.extend_from_slice(&bytes);
            p.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            p.extend_from_slice(b"PAR1");
            let _ = summarize(Cursor::new(&p));
        }
    }
}
