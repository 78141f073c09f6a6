//! Fuzzes dataset ingestion end to end with arbitrary files (CSV, JSON lines, Parquet,
//! anything): reading every batch with sketches, the profile and its JSON round trip,
//! drift of the data against its own profile, validation against it, and the poisoning
//! analysis with the first column as the label. Each must return a result or an error,
//! never panic or grow without bound.
#![no_main]

use std::io::Write as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(mut f) = tempfile::tempfile() else {
        return;
    };
    if f.write_all(data).is_err() {
        return;
    }
    let reopen = |f: &std::fs::File| -> Option<moat_data::read::Table> {
        let mut g = f.try_clone().ok()?;
        std::io::Seek::rewind(&mut g).ok()?;
        moat_data::read::open(g).ok()
    };
    let Some(mut t) = reopen(&f) else { return };
    let Ok(values) = moat_data::collect::collect_with(&mut t, true) else {
        return;
    };
    let profile = moat_data::profile::Profile::from_values(&values);
    let back = moat_data::profile::Profile::from_json(&profile.to_json()).expect("a profile reads back");
    let _ = moat_data::drift::compare(&back.stand_in(), &values, &moat_data::drift::Options::default());
    if let Some(mut t) = reopen(&f) {
        let _ = moat_data::check::check(&mut t, Some(&back), &moat_data::check::Constraints::default());
    }
    if let (Some(mut t), Some(first)) = (reopen(&f), values.columns.first()) {
        let o = moat_data::poison::Options {
            label: first.name.clone(),
            ..moat_data::poison::Options::default()
        };
        let _ = moat_data::poison::analyse(&mut t, None, &o);
    }
});
