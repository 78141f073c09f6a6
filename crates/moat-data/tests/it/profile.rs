//! Profiles: small whatever the data's size, merged profiles agree with one profile of
//! the union, drift against a profile finds what drift against the data finds, and the
//! streaming collector (rows one at a time) agrees with the batch reader in bounded
//! memory.

use std::path::Path;

use moat_data::collect::{collect, collect_with, Collector, Limits, Value};
use moat_data::drift::{compare, DriftReport, Options};
use moat_data::profile::{Profile, ProfileError};
use proptest::prelude::*;

use crate::gen::{spec, write_csv, Rng, Spec};

fn values(p: &Path, sketches: bool) -> moat_data::collect::DatasetValues {
    let mut t = moat_data::read::open(std::fs::File::open(p).unwrap()).unwrap();
    collect_with(&mut t, sketches).unwrap()
}

fn profile(p: &Path) -> Profile {
    Profile::from_values(&values(p, true))
}

fn column<'a>(p: &'a Profile, name: &str) -> &'a moat_data::profile::ColumnProfile {
    p.columns.iter().find(|c| c.name == name).unwrap()
}

fn drifted(r: &DriftReport) -> Vec<String> {
    r.columns
        .iter()
        .filter(|c| c.drifted)
        .map(|c| c.name.clone())
        .collect()
}

#[test]
fn a_profile_is_kilobytes_and_describes_the_data() {
    let dir = tempfile::tempdir().unwrap();
    for rows in [2_000, 200_000] {
        let path = write_csv(dir.path(), "d.csv", &spec(rows, 7));
        let p = profile(&path);
        let json = p.to_json();
        // Whatever the rows, the profile stays a few tens of kilobytes.
        assert!(json.len() < 64 * 1024, "{rows} rows: {} bytes", json.len());
        let back = Profile::from_json(&json).unwrap();
        assert_eq!(back.rows, rows as u64);
        let v = values(&path, false);
        for c in &v.columns {
            let pc = column(&back, &c.name);
            assert_eq!((pc.rows, pc.nulls), (c.rows, c.nulls), "{}", c.name);
        }
        let amount = column(&back, "amount");
        assert_eq!(amount.kind, "numerical");
        assert_eq!(amount.arrow_type, "Float64");
        let mean = amount.mean.unwrap();
        assert!((mean - 100.0).abs() < 2.0, "{mean}");
        let median = amount.quantiles.iter().find(|q| q.0 == 0.5).unwrap().1;
        assert!((median - 100.0).abs() < 2.0, "{median}");
        let seg = column(&back, "segment");
        assert_eq!(seg.kind, "categorical");
        assert_eq!((seg.distinct.value, seg.distinct.exact), (3.0, true));
        let top = seg.top.as_ref().unwrap();
        assert_eq!(top.top.first().unwrap().0, "retail");
        // Thousands of ids: estimated by HyperLogLog within a few percent.
        let ids = column(&back, "user_id");
        let exact = v.column("user_id").unwrap().labels.len() as f64;
        if exact > 1000.0 {
            assert!(!ids.distinct.exact);
            let err = (ids.distinct.value - exact).abs() / exact;
            assert!(err < 0.05, "{} vs {exact}", ids.distinct.value);
        } else {
            assert_eq!(ids.distinct.value, exact);
        }
    }
}

#[test]
fn profiles_of_two_halves_merge_into_the_profile_of_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_csv(dir.path(), "a.csv", &spec(60_000, 1));
    let b = write_csv(dir.path(), "b.csv", &spec(60_000, 2));
    // The whole: both files' rows in one file.
    let whole = dir.path().join("whole.csv");
    let body_b = std::fs::read_to_string(&b).unwrap();
    let mut text = std::fs::read_to_string(&a).unwrap();
    text.push_str(body_b.split_once('\n').unwrap().1);
    std::fs::write(&whole, text).unwrap();

    let mut merged = profile(&a);
    merged.merge(&profile(&b));
    let one = profile(&whole);
    assert_eq!(merged.rows, one.rows);
    for c in &one.columns {
        let m = column(&merged, &c.name);
        assert_eq!((m.rows, m.nulls), (c.rows, c.nulls), "{}", c.name);
        if let (Some(x), Some(y)) = (m.mean, c.mean) {
            assert!((x - y).abs() < 1e-9 * y.abs().max(1.0), "{}", c.name);
            assert!((m.std.unwrap() - c.std.unwrap()).abs() < 1e-9 * y.abs().max(1.0));
            assert_eq!((m.min, m.max), (c.min, c.max));
        }
        // Quantiles: within the sketch's rank error (1% of the distribution, here 0.15
        // units of a normal with sd 15).
        for (x, y) in m.quantiles.iter().zip(&c.quantiles) {
            assert_eq!(x.0, y.0);
            // (Where the density is low, in the tails, a rank error is a larger value.)
            let tolerance = if (0.2..0.8).contains(&x.0) { 0.5 } else { 1.5 };
            if c.name == "amount" {
                assert!(
                    (x.1 - y.1).abs() < tolerance,
                    "q{}: {} vs {}",
                    x.0,
                    x.1,
                    y.1
                );
            }
        }
        let (dm, dc) = (m.distinct.value, c.distinct.value);
        assert!(
            (dm - dc).abs() <= 0.03 * dc.max(1.0),
            "{}: {dm} vs {dc}",
            c.name
        );
    }
    // Categories: the same counts.
    assert_eq!(
        column(&merged, "segment").top.as_ref().unwrap().top,
        column(&one, "segment").top.as_ref().unwrap().top
    );
}

fn baseline_and_reference_agree(reference: &Spec, current: &Spec) -> (DriftReport, DriftReport) {
    let dir = tempfile::tempdir().unwrap();
    let r = write_csv(dir.path(), "ref.csv", reference);
    let c = write_csv(dir.path(), "cur.csv", current);
    let cur = values(&c, false);
    let with_data = compare(&values(&r, false), &cur, &Options::default());
    let baseline = Profile::from_json(&profile(&r).to_json()).unwrap();
    let with_profile = compare(&baseline.stand_in(), &cur, &Options::default());
    let summary = |r: &DriftReport| -> Vec<String> {
        r.columns
            .iter()
            .filter(|c| c.drifted)
            .map(|c| format!("{} {:?} {} {:?}", c.name, c.test, c.statistic, c.signals))
            .collect()
    };
    assert_eq!(
        drifted(&with_data),
        drifted(&with_profile),
        "data: {:#?}\nprofile: {:#?}",
        summary(&with_data),
        summary(&with_profile)
    );
    for (x, y) in with_data.columns.iter().zip(&with_profile.columns) {
        assert_eq!(x.test, y.test, "{}", x.name);
    }
    (with_data, with_profile)
}

#[test]
fn drift_against_a_profile_finds_what_drift_against_the_data_finds() {
    // No drift, small and large.
    for rows in [500, 50_000] {
        let (_, p) = baseline_and_reference_agree(&spec(rows, 1), &spec(rows, 2));
        assert!(
            drifted(&p).is_empty(),
            "{rows}: {:#?}",
            p.columns.iter().filter(|c| c.drifted).collect::<Vec<_>>()
        );
    }
    // A shift, a jump in missing values, a new category.
    let (_, p) = baseline_and_reference_agree(
        &spec(50_000, 1),
        &Spec {
            shift: 0.5,
            null_share: 0.3,
            new_category: true,
            ..spec(50_000, 2)
        },
    );
    assert_eq!(drifted(&p), ["amount", "score", "segment"]);
    // Effect sizes as against the data: Wasserstein within 0.01.
    let (d, p) = baseline_and_reference_agree(
        &spec(50_000, 1),
        &Spec {
            shift: 0.3,
            ..spec(50_000, 2)
        },
    );
    let (x, y) = (&d.columns[0], &p.columns[0]);
    assert_eq!(x.name, "amount");
    assert!((x.statistic - y.statistic).abs() < 0.01, "{x:?}\n{y:?}");
}

#[test]
fn a_profile_of_another_version_or_not_a_profile_is_a_clear_error() {
    let e = Profile::from_json(br#"{"moat_profile":2,"rows":0,"columns":[]}"#).unwrap_err();
    assert!(matches!(e, ProfileError::Version(2)), "{e}");
    assert!(e.to_string().contains("profile the data again"));
    let e = Profile::from_json(b"a,b\n1,2\n").unwrap_err();
    assert!(e.to_string().contains("moat data profile"), "{e}");
    let e = Profile::from_json(
        br#"{"moat_profile":1,"rows":1,"columns":[{"name":"x","type":"numerical","arrow_type":"","rows":1,"nulls":0,"distinct":{"value":1.0,"exact":true},"sketch":{"distinct":{"hll":"zz"}}}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("hex"), "{e}");
}

#[test]
fn rows_one_at_a_time_agree_with_batches_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_csv(dir.path(), "d.csv", &spec(30_000, 5));
    let batch = values(&path, true);
    let types: Vec<(&str, arrow_schema::DataType)> = batch
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.arrow_type.parse().unwrap()))
        .collect();
    let mut stream = Collector::new(
        &types,
        Limits {
            sketches: true,
            max_numbers: 5_000,
        },
    );
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines().skip(1) {
        let row: Vec<Value<'_>> = line
            .split(',')
            .map(|f| {
                if f.is_empty() {
                    Value::Null
                } else if let Ok(x) = f.parse::<f64>() {
                    Value::Number(x)
                } else {
                    Value::Text(f)
                }
            })
            .collect();
        stream.add_row(&row);
    }
    let got = stream.snapshot();
    assert_eq!(got.rows, 30_000);
    for (s, b) in got.columns.iter().zip(&batch.columns) {
        assert_eq!(
            (s.rows, s.nulls, s.numbers_seen),
            (b.rows, b.nulls, b.numbers_seen)
        );
        assert_eq!(s.labels, b.labels, "{}", s.name);
        // Bounded: a sample of 5,000 numbers, whatever the stream's length.
        assert!(s.numbers.len() <= 5_000);
    }
    // The profile of the stream is the profile of the file, but for the numbers
    // kept (a sample), which only the histogram reads.
    let (ps, pb) = (stream.profile(), Profile::from_values(&batch));
    for (x, y) in ps.columns.iter().zip(&pb.columns) {
        assert_eq!(
            (x.mean, x.min, x.max, &x.top),
            (y.mean, y.min, y.max, &y.top)
        );
        assert_eq!(x.distinct, y.distinct, "{}", x.name);
    }
    // The stream compared with a profile of itself: no drift.
    let r = compare(&pb.stand_in(), &stream.snapshot(), &Options::default());
    let why: Vec<String> = r
        .columns
        .iter()
        .filter(|c| c.drifted)
        .map(|c| format!("{} {:?} {} {:?}", c.name, c.test, c.statistic, c.signals))
        .collect();
    assert!(!r.dataset_drift && why.is_empty(), "{why:#?}");
}

#[test]
fn a_word_in_a_numeric_stream_is_counted_not_analysed() {
    let mut s = Collector::new(&[("x", arrow_schema::DataType::Float64)], Limits::default());
    s.add_row(&[Value::Number(1.0)]);
    s.add_row(&[Value::Text(" 2.5 ")]);
    s.add_row(&[Value::Text("n/a")]);
    s.add_row(&[]);
    let v = s.finish();
    let c = &v.columns[0];
    assert_eq!((c.rows, c.nulls, c.mismatched), (4, 2, 1));
    assert_eq!(c.numbers, [1.0, 2.5]);
}

/// Rows of a small numeric dataset: one column, as CSV text.
fn csv_of(xs: &[f64]) -> String {
    let mut s = String::from("x\n");
    for x in xs {
        s.push_str(&format!("{x}\n"));
    }
    s
}

fn from_csv(text: &str) -> moat_data::collect::DatasetValues {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.csv");
    std::fs::write(&p, text).unwrap();
    let mut t = moat_data::read::open(std::fs::File::open(&p).unwrap()).unwrap();
    collect(&mut t).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Drift statistics ignore the order of the rows.
    #[test]
    fn statistics_ignore_row_order(
        xs in prop::collection::vec(-1e6f64..1e6, 2..300),
        ys in prop::collection::vec(-1e6f64..1e6, 2..300),
        seed in any::<u64>(),
    ) {
        let mut shuffled = ys.clone();
        let mut r = Rng(seed | 1);
        for i in (1..shuffled.len()).rev() {
            let j = (r.next() * (i + 1) as f64) as usize;
            shuffled.swap(i, j.min(i));
        }
        let reference = from_csv(&csv_of(&xs));
        let a = compare(&reference, &from_csv(&csv_of(&ys)), &Options::default());
        let b = compare(&reference, &from_csv(&csv_of(&shuffled)), &Options::default());
        prop_assert_eq!(a.columns[0].statistic, b.columns[0].statistic);
        prop_assert_eq!(a.columns[0].p_value, b.columns[0].p_value);
    }

    /// Merged sketches are close to one sketch over the union: moments exactly (to
    /// rounding), quantiles within 1% of rank.
    #[test]
    fn merged_sketches_approximate_one_sketch_of_the_union(
        xs in prop::collection::vec(-1e3f64..1e3, 1..3000),
        ys in prop::collection::vec(-1e3f64..1e3, 1..3000),
    ) {
        use moat_data::sketch::{Kll, Moments};
        let (mut ka, mut kb, mut k) = (Kll::default(), Kll::default(), Kll::default());
        let (mut ma, mut mb, mut m) = (Moments::default(), Moments::default(), Moments::default());
        for &x in &xs { ka.add(x); ma.add(x); k.add(x); m.add(x); }
        for &y in &ys { kb.add(y); mb.add(y); k.add(y); m.add(y); }
        ka.merge(&kb);
        ma.merge(&mb);
        prop_assert_eq!(ma.count, m.count);
        prop_assert!((ma.mean - m.mean).abs() < 1e-9 * 1e3);
        prop_assert!((ma.std() - m.std()).abs() < 1e-6);
        let mut all: Vec<f64> = xs.iter().chain(&ys).copied().collect();
        all.sort_by(f64::total_cmp);
        let n = all.len() as f64;
        for q in [0.1, 0.5, 0.9] {
            let v = ka.quantile(q).unwrap();
            // The rank of the sketch's answer in the union.
            let rank = all.partition_point(|&x| x <= v) as f64 / n;
            prop_assert!((rank - q).abs() <= 0.01 + 1.0 / n, "q {} rank {}", q, rank);
        }
    }
}
