//! safetensors: an 8-byte little-endian header length, a JSON header mapping tensor
//! names to `{dtype, shape, data_offsets}` (and an optional `__metadata__` map of
//! strings), then the tensor bytes. The format cannot carry code; what can go wrong is
//! a header that lies: absurd sizes, overlapping or out-of-bounds offsets, a shape that
//! does not match the bytes. Those are what loaders crash or misbehave on.

use serde_json::Value;

use crate::finding::{Finding, Rule, Severity};

/// Largest header accepted (the reference implementation's limit).
pub(crate) const MAX_HEADER: u64 = 100 << 20;

fn dtype_size(d: &str) -> Option<u64> {
    Some(match d {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

fn problem(findings: &mut Vec<Finding>, severity: Severity, message: String, offset: u64) {
    findings.push(Finding {
        severity,
        rule: Rule::MalformedHeader,
        message,
        offset,
    });
}

/// Checks a safetensors header given the file length and the header bytes.
pub(crate) fn check(file_len: u64, header: &[u8]) -> Vec<Finding> {
    let mut f = Vec::new();
    let data_start = 8 + header.len() as u64;
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(header) else {
        problem(
            &mut f,
            Severity::High,
            "the safetensors header is not a JSON object: loaders will refuse it".into(),
            8,
        );
        return f;
    };
    let data_len = file_len.saturating_sub(data_start);
    let mut ranges: Vec<(u64, u64, String)> = Vec::new();
    for (name, t) in &map {
        if name == "__metadata__" {
            let ok = t
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !ok {
                problem(
                    &mut f,
                    Severity::Medium,
                    "`__metadata__` is not a map of strings".into(),
                    8,
                );
            }
            continue;
        }
        let dtype = t.get("dtype").and_then(Value::as_str);
        let shape: Option<Vec<u64>> = t
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect());
        let offs: Option<Vec<u64>> = t
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect());
        let (Some(dtype), Some(shape), Some([begin, end])) = (
            dtype,
            shape,
            offs.as_deref().and_then(|o| <[u64; 2]>::try_from(o).ok()),
        ) else {
            problem(
                &mut f,
                Severity::High,
                format!("tensor `{name}` lacks a valid dtype, shape or data_offsets"),
                8,
            );
            continue;
        };
        let Some(size) = dtype_size(dtype) else {
            problem(
                &mut f,
                Severity::Medium,
                format!("tensor `{name}` has unknown dtype `{dtype}`"),
                8,
            );
            continue;
        };
        if begin > end || end > data_len {
            problem(&mut f, Severity::High, format!("tensor `{name}` points at bytes {begin}..{end}, outside the {data_len} bytes of data"), 8);
            continue;
        }
        let elements = shape.iter().try_fold(1u64, |acc, d| acc.checked_mul(*d));
        match elements.and_then(|n| n.checked_mul(size)) {
            Some(bytes) if bytes == end - begin => {}
            Some(bytes) => problem(
                &mut f,
                Severity::High,
                format!(
                    "tensor `{name}` needs {bytes} bytes for its shape and dtype but has {}",
                    end - begin
                ),
                8,
            ),
            None => problem(
                &mut f,
                Severity::High,
                format!("tensor `{name}` has a shape whose size overflows"),
                8,
            ),
        }
        ranges.push((begin, end, name.clone()));
    }
    ranges.sort();
    for w in ranges.windows(2) {
        if let [(_, end_a, a), (begin_b, _, b)] = w {
            if begin_b < end_a {
                problem(
                    &mut f,
                    Severity::High,
                    format!("tensors `{a}` and `{b}` overlap"),
                    8,
                );
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: usize) -> (u64, Vec<u8>) {
        ((8 + header.len() + data) as u64, header.as_bytes().to_vec())
    }

    #[test]
    fn good_and_bad_headers() {
        let (len, h) = file(
            r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"format":"pt"}}"#,
            16,
        );
        assert!(check(len, &h).is_empty());
        let (len, h) = file(
            r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#,
            16,
        );
        assert_eq!(check(len, &h).len(), 1);
        let (len, h) = file(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
            8,
        );
        assert!(check(len, &h).iter().any(|f| f.message.contains("overlap")));
        let (len, h) = file(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,400]}}"#,
            8,
        );
        assert!(check(len, &h)[0].message.contains("outside"));
        let (len, h) = file(
            r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#,
            8,
        );
        assert!(check(len, &h)[0].message.contains("overflows"));
        assert!(check(10, b"not json")[0]
            .message
            .contains("not a JSON object"));
    }
}
