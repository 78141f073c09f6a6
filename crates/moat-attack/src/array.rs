//! Sample and label files: NumPy `.npy` (version 1–3, little- or big-endian, C order;
//! float16/32/64, signed and unsigned integers, bool) and CSV of numbers (an optional
//! header line of names). Untrusted input: sizes are checked before allocating.

use crate::Error;

/// A numeric array read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Arrays larger than this many values are refused.
pub const MAX_VALUES: usize = 1 << 28;

fn bad(msg: impl Into<String>) -> Error {
    Error::Input(msg.into())
}

impl Array {
    /// Rows: the first dimension (1 for a scalar).
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Values per row.
    pub fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }

    /// Class indices: whole, non-negative numbers, one per row (a `[n, 1]` column too).
    pub fn to_labels(&self) -> Result<Vec<usize>, Error> {
        if self.row_len() != 1 {
            return Err(bad(format!(
                "labels must be one number per row, not shape {:?}",
                self.shape
            )));
        }
        self.data
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if v >= 0.0 && v.fract() == 0.0 && v < 1e9 {
                    Ok(v as usize)
                } else {
                    Err(bad(format!(
                        "label {v} in row {i} is not a class index (0, 1, 2, …)"
                    )))
                }
            })
            .collect()
    }

    /// Reads `.npy` when the bytes start with its magic, else CSV.
    pub fn parse(bytes: &[u8]) -> Result<Array, Error> {
        if bytes.starts_with(b"\x93NUMPY") {
            parse_npy(bytes)
        } else {
            parse_csv(bytes)
        }
    }
}

fn parse_npy(bytes: &[u8]) -> Result<Array, Error> {
    let major = *bytes.get(6).ok_or_else(|| bad("truncated .npy header"))?;
    let (len, start) = match major {
        1 => {
            let b = bytes
                .get(8..10)
                .ok_or_else(|| bad("truncated .npy header"))?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 10usize)
        }
        2 | 3 => {
            let b = bytes
                .get(8..12)
                .ok_or_else(|| bad("truncated .npy header"))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => {
            return Err(bad(format!(
                ".npy version {v} is not supported (1, 2 or 3)"
            )))
        }
    };
    let end = start
        .checked_add(len)
        .ok_or_else(|| bad("bad .npy header length"))?;
    let header = bytes
        .get(start..end)
        .ok_or_else(|| bad("truncated .npy header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad(".npy header is not text"))?;
    let descr = dict_value(header, "descr").ok_or_else(|| bad(".npy header has no `descr`"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran = dict_value(header, "fortran_order")
        .ok_or_else(|| bad(".npy header has no `fortran_order`"))?;
    if fortran.trim() != "False" {
        return Err(bad(
            "Fortran-ordered .npy arrays are not supported: save with np.ascontiguousarray",
        ));
    }
    let shape_s = dict_value(header, "shape").ok_or_else(|| bad(".npy header has no `shape`"))?;
    let shape: Vec<usize> = shape_s
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(format!("bad .npy shape `{shape_s}`")))
        })
        .collect::<Result<_, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&c| c <= MAX_VALUES)
        .ok_or_else(|| bad(format!("the .npy array of shape {shape:?} is too large")))?;
    let (order, kind, size) = {
        let mut c = descr.chars();
        let order = c.next().ok_or_else(|| bad("empty .npy descr"))?;
        let kind = c.next().ok_or_else(|| bad("short .npy descr"))?;
        let size: usize = c
            .as_str()
            .parse()
            .map_err(|_| bad(format!("bad .npy descr `{descr}`")))?;
        (order, kind, size)
    };
    let big = match order {
        '<' | '|' | '=' => false,
        '>' => true,
        _ => return Err(bad(format!("bad .npy descr `{descr}`"))),
    };
    let body = bytes.get(end..).unwrap_or_default();
    let need = count
        .checked_mul(size)
        .ok_or_else(|| bad("the .npy array is too large"))?;
    if body.len() < need {
        return Err(bad(format!(
            "the .npy file is truncated: {} of {need} data bytes",
            body.len()
        )));
    }
    let mut data = Vec::with_capacity(count);
    for chunk in body[..need].chunks_exact(size) {
        let mut b = [0u8; 8];
        b[..size.min(8)].copy_from_slice(&chunk[..size.min(8)]);
        if big {
            b[..size].reverse();
        }
        let v = match (kind, size) {
            ('f', 2) => half(u16::from_le_bytes([b[0], b[1]])),
            ('f', 4) => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ('f', 8) => f64::from_le_bytes(b),
            ('i', 1) => f64::from(b[0] as i8),
            ('i', 2) => f64::from(i16::from_le_bytes([b[0], b[1]])),
            ('i', 4) => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ('i', 8) => i64::from_le_bytes(b) as f64,
            ('u', 1) | ('b', 1) => f64::from(b[0]),
            ('u', 2) => f64::from(u16::from_le_bytes([b[0], b[1]])),
            ('u', 4) => f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ('u', 8) => u64::from_le_bytes(b) as f64,
            _ => return Err(bad(format!(".npy type `{descr}` is not numeric"))),
        };
        data.push(v);
    }
    Ok(Array { shape, data })
}

fn half(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// The text after `'key':` up to the next top-level comma (or the closing brace).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

fn parse_csv(bytes: &[u8]) -> Result<Array, Error> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| bad("the file is neither .npy nor UTF-8 CSV"))?;
    let mut data = Vec::new();
    let mut width: Option<usize> = None;
    let mut rows = 0usize;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed: Result<Vec<f64>, _> = fields.iter().map(|f| f.parse::<f64>()).collect();
        let values = match parsed {
            Ok(v) => v,
            // A first line of names is a header.
            Err(_) if rows == 0 && width.is_none() => {
                width = Some(fields.len());
                continue;
            }
            Err(_) => {
                return Err(bad(format!(
                    "line {}: a value is not a number; samples must be numeric (encode categories first)",
                    lineno + 1
                )))
            }
        };
        match width {
            Some(w) if w != values.len() => {
                return Err(bad(format!(
                    "line {}: {} values, expected {w}",
                    lineno + 1,
                    values.len()
                )))
            }
            _ => width = Some(values.len()),
        }
        if data.len() + values.len() > MAX_VALUES {
            return Err(bad("the CSV file is too large"));
        }
        data.extend(values);
        rows += 1;
    }
    if rows == 0 {
        return Err(bad("the file holds no rows of numbers"));
    }
    Ok(Array {
        shape: vec![rows, width.unwrap_or(1)],
        data,
    })
}

/// Writes rows of float32 as `.npy` (version 1).
pub fn write_npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_s = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_s}, }}");
    // Pad so the data starts on a multiple of 64 bytes, ending with a newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
        let x =
            Array::parse(&std::fs::read(format!("{dir}digits_x.npy")).expect("x")).expect("npy");
        assert_eq!(x.shape, vec![60, 64]);
        let y =
            Array::parse(&std::fs::read(format!("{dir}digits_y.npy")).expect("y")).expect("npy");
        assert_eq!(y.to_labels().expect("labels").len(), 60);
        let img =
            Array::parse(&std::fs::read(format!("{dir}convnet_x.npy")).expect("img")).expect("npy");
        assert_eq!((img.rows(), img.row_len()), (12, 64));
    }

    #[test]
    fn csv_with_header() {
        let a = Array::parse(b"a,b\n1,2\n3,4.5\n").expect("csv");
        assert_eq!(a.shape, vec![2, 2]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.5]);
        assert!(Array::parse(b"1,2\n3\n")
            .unwrap_err()
            .to_string()
            .contains("line 2"));
        assert!(Array::parse(b"-1\n").expect("csv").to_labels().is_err());
    }

    proptest! {
        #[test]
        fn npy_round_trips(rows in 0usize..20, cols in 1usize..6, seed in any::<u32>()) {
            let data: Vec<f32> = (0..rows * cols).map(|i| (i as f32 + seed as f32) * 0.37).collect();
            let bytes = write_npy_f32(&[rows, cols], &data);
            let a = Array::parse(&bytes).expect("round trip");
            prop_assert_eq!(a.to_f32(), data);
            prop_assert_eq!(a.shape, vec![rows, cols]);
        }

        #[test]
        fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend(bytes.iter());
            let _ = Array::parse(&b);
            let _ = Array::parse(&bytes);
        }
    }
}
