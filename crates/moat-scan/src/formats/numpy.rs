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
    // `'descr': '|O'` (or `'O'`): an object array, stored as a pickle.
    let object = header
        .split("'descr':")
        .nth(1)
        .map(|d| d.trim_start())
        .is_some_and(|d| d.starts_with("'|O'") || d.starts_with("'O'") || d.starts_with("\"|O\""));
    Ok(object.then_some(end))
}
