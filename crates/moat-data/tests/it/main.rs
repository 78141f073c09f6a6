//! Schema summaries of real files written by another implementation (pyarrow, via
//! `tests/data/make_fixtures.py`), compared with the schema it declares.

use std::fs::File;

use moat_data::{summarize, Format};

#[test]
fn parquet_files_from_pyarrow() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/expected.json")).unwrap())
            .unwrap();
    for (file, want) in expected.as_object().unwrap() {
        let s = summarize(File::open(format!("{dir}/{file}")).unwrap()).unwrap();
        assert_eq!(s.format, Format::Parquet, "{file}");
        assert_eq!(s.rows, want["rows"].as_u64(), "{file}");
        let got: Vec<serde_json::Value> = s
            .columns
            .iter()
            .map(|c| serde_json::json!([c.name, c.ty, c.nullable]))
            .collect();
        assert_eq!(serde_json::Value::Array(got), want["columns"], "{file}");
    }
}
mod bad_input;
mod check;
mod drift;
mod gen;
mod poison;
mod profile;
mod stats;
