//! Bad input: every case a clear error that says where and what to do, never a panic.

use std::io::Write as _;

use moat_data::collect::collect;
use moat_data::read::{open, ReadError};

fn read(bytes: &[u8]) -> Result<moat_data::collect::DatasetValues, ReadError> {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(bytes).unwrap();
    std::io::Seek::rewind(&mut f).unwrap();
    let mut t = open(f)?;
    collect(&mut t)
}

#[test]
fn an_empty_file_says_so() {
    let e = read(b"").unwrap_err();
    assert!(matches!(e, ReadError::EmptyFile), "{e}");
}

#[test]
fn a_header_only_csv_has_no_rows() {
    let v = read(b"a,b\n").unwrap();
    assert_eq!(v.rows, 0);
}

#[test]
fn a_short_csv_row_names_its_line() {
    let e = read(b"a,b\n1,2\n3\n4,5\n").unwrap_err().to_string();
    assert!(e.contains("line 3"), "{e}");
}

#[test]
fn a_late_value_of_another_type_names_column_and_file_line() {
    let mut s = String::from("id,amount\n");
    for i in 0..70_000 {
        if i == 66_000 {
            s.push_str("66000,oops\n");
        } else {
            s.push_str(&format!("{i},{}\n", i % 7));
        }
    }
    let e = read(s.as_bytes()).unwrap_err().to_string();
    // Data row 66,000 (0-based) is the file's line 66,002: the header is line 1.
    assert!(e.contains("at line 66002"), "{e}");
    assert!(e.contains("column `amount`"), "{e}");
    assert!(e.contains("inferred from the first 10000 rows"), "{e}");
    assert!(
        !e.contains("Row data"),
        "the rest of the row is not echoed: {e}"
    );
}

#[test]
fn bytes_that_are_no_dataset_are_refused() {
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(read(&junk).is_err());
}

/// Found by the `dataset_ingest` fuzz target: an infinity made the profile's moments,
/// quantiles and bins infinite, written as JSON `null`, so the profile did not read back.
/// NaN and ±infinity are missing values.
#[test]
fn infinities_are_missing_values_and_profiles_read_back() {
    let fuzzed = include_bytes!("../data/fuzz/infinity.csv");
    for bytes in [&fuzzed[..], b"x,y\n1,2\ninf,3\n-inf,4\nNaN,5\n2,6\n"] {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        let mut t = open(f).unwrap();
        let v = moat_data::collect::collect_with(&mut t, true).unwrap();
        let p = moat_data::profile::Profile::from_values(&v);
        let back = moat_data::profile::Profile::from_json(&p.to_json()).unwrap();
        let x = &back.columns[0];
        assert_eq!(x.rows, x.nulls + v.columns[0].present(), "{bytes:?}");
        assert!(x.min.is_none_or(f64::is_finite), "{x:?}");
    }
}
