//! NumPy `.npy` files: a magic string, a header (a Python dict literal) and the data.
//! Arrays of objects (`descr` `|O`) store their data as a pickle, which `numpy.load`
//! unpickles when `allow_pickle=True`: that pickle is returned for scanning.

/// The offset where the data starts and whether it is an object array (a pickle), or
/// why the header is unreadable.
pub(crate) fn object_array(data: &[u8]) -> Result<Option<usize>, &'static str> {
    let rest = data.strip_prefix(b"\x93NUMPY").ok_or("not an .npy file")?;
    let major = *rest.first().ok_or("truncated .npy header")?;
    let (len, start): (usize, usize) = match major {
        1 => (
            usize::from(u16::from_le_bytes([
                *rest.get(2).ok_or("truncated")?,
                *rest.get(3).ok_or("truncated")?,
            ])),
            10,
        ),
        2 | 3 => {
            let b: [u8; 4] = rest
                .get(2..6)
                .and_then(|b| b.try_into().ok())
                .ok_or("truncated .npy header")?;
            let n = u32::from_le_bytes(b);
            (usize::try_from(n).map_err(|_| "header too long")?, 12)
        }
        _ => return Err("unknown .npy version"),
    };
    let end = start.checked_add(len).ok_or("header too long")?;
    let header = data
        .get(start..end)
        .ok_or("the .npy header runs past the end")?;
    let header = String::from_utf8_lossy(header);
    Ok(holds_objects(&header).then_some(end))
}

/// Whether a header's dtype may hold Python objects (stored as a pickle): any quoted
/// token that is an object type code (`O`, `|O`, `O8`, `object`), as a plain dtype, a
/// field of a structured one or a sub-array. A field merely named with an `O` can match
/// too: the caller treats the data as a pickle only if it is one.
pub(crate) fn holds_objects(header: &str) -> bool {
    header.split(['\'', '"']).skip(1).step_by(2).any(|tok| {
        let t = tok.trim_start_matches(['|', '<', '>', '=']);
        t == "object"
            || t.strip_prefix('O')
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_dtypes_in_every_spelling() {
        for h in [
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            "{'descr' : '|O8', 'shape': (1,)}",
            "{\"descr\": \"O\", 'shape': (1,)}",
            "{'descr': 'object', 'shape': (1,)}",
            "{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (2,), }",
            "{'descr': [('a', ('O', (2,)))], 'shape': (2,)}",
        ] {
            assert!(holds_objects(h), "{h}");
        }
        assert!(!holds_objects(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
        ));
    }
}
