//! Every statistic and p-value against scipy: `tests/data/stats_reference.json`, written
//! by `make_stats_reference.py` with scipy 1.17 on generated samples, holds the inputs
//! and scipy's outputs. Tolerance: 1e-9 relative (or 1e-12 absolute for values below
//! 1e-3, where a relative error says nothing), for every statistic.

use moat_data::stats;

fn reference() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/stats_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(got: f64, want: f64) -> bool {
    let diff = (got - want).abs();
    diff <= 1e-9 * want.abs() || diff <= 1e-12
}

fn sample(v: &serde_json::Value) -> Vec<f64> {
    let mut s: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap() as f64 / 1024.0)
        .collect();
    s.sort_by(f64::total_cmp);
    s
}

#[test]
fn kolmogorov_smirnov_and_wasserstein_match_scipy() {
    let r = reference();
    let mut bad = Vec::new();
    for case in r["numeric"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (a, b) = (sample(&case["a"]), sample(&case["b"]));
        let ks = stats::ks_2samp_sorted(&a, &b).unwrap();
        let want = |k: &str| case[k].as_f64().unwrap();
        if !close(ks.statistic, want("ks_statistic")) {
            bad.push(format!(
                "{name}: KS statistic {} vs {}",
                ks.statistic,
                want("ks_statistic")
            ));
        }
        if !close(ks.p_value, want("ks_pvalue")) {
            bad.push(format!(
                "{name}: KS p-value {:e} vs {:e} (exact {})",
                ks.p_value,
                want("ks_pvalue"),
                ks.exact
            ));
        }
        assert_eq!(ks.exact, case["ks_exact"].as_bool().unwrap(), "{name}");
        let w = stats::wasserstein_sorted(&a, &b).unwrap();
        if !close(w, want("wasserstein")) {
            bad.push(format!(
                "{name}: Wasserstein {w} vs {}",
                want("wasserstein")
            ));
        }
        let s = stats::population_std(&a).unwrap();
        if !close(s, want("reference_std")) {
            bad.push(format!("{name}: std {s} vs {}", want("reference_std")));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn kolmogorov_distribution_matches_scipy_on_every_branch() {
    let r = reference();
    let mut bad = Vec::new();
    for case in r["kstwo"].as_array().unwrap() {
        let (n, d) = (case["n"].as_u64().unwrap(), case["d"].as_f64().unwrap());
        let want = case["sf"].as_f64().unwrap();
        let got = stats::kstwo_sf(n, d);
        if !close(got, want) {
            bad.push(format!("n {n} d {d}: {got:e} vs {want:e}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn chi_square_and_jensen_shannon_match_scipy() {
    let r = reference();
    for case in r["categorical"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let counts = |k: &str| -> Vec<f64> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let (reference, current) = (counts("reference"), counts("current"));
        let scale = current.iter().sum::<f64>() / reference.iter().sum::<f64>();
        let expected: Vec<f64> = reference.iter().map(|r| r * scale).collect();
        let (stat, p) = stats::chisquare(&current, &expected).unwrap();
        assert!(
            close(stat, case["chi2_statistic"].as_f64().unwrap()),
            "{name}: {stat}"
        );
        assert!(
            close(p, case["chi2_pvalue"].as_f64().unwrap()),
            "{name}: {p:e} vs {}",
            case["chi2_pvalue"]
        );
        // The two-sample test of homogeneity (with Yates' correction at one degree
        // of freedom, as scipy applies it).
        let (stat, p, dof) = stats::chi2_contingency(&reference, &current).unwrap();
        assert_eq!(
            dof as u64,
            case["contingency_dof"].as_u64().unwrap(),
            "{name}"
        );
        assert!(
            close(stat, case["contingency_statistic"].as_f64().unwrap()),
            "{name}: {stat}"
        );
        assert!(
            close(p, case["contingency_pvalue"].as_f64().unwrap()),
            "{name}: {p:e} vs {}",
            case["contingency_pvalue"]
        );
        let js = stats::jensen_shannon(&reference, &current).unwrap();
        assert!(
            close(js, case["jensenshannon"].as_f64().unwrap()),
            "{name}: {js}"
        );
    }
}

#[test]
fn psi_on_fixed_bins_matches_numpy() {
    let r = reference();
    for case in r["psi"].as_array().unwrap() {
        let (a, b) = (sample(&case["a"]), sample(&case["b"]));
        let edges: Vec<f64> = case["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let got = stats::psi(
            &stats::bin_counts(&a, &edges),
            &stats::bin_counts(&b, &edges),
        )
        .unwrap();
        let want = case["psi"].as_f64().unwrap();
        assert!(close(got, want), "{got} vs {want}");
    }
}

/// scipy's `shapiro` runs AS R94 in single precision (its `swilk` is Fortran `REAL`), so
/// agreement is to about 1e-6; the normal quantile matches to 1e-13.
#[test]
fn shapiro_wilk_and_the_normal_quantile_match_scipy() {
    let r = reference();
    for case in r["shapiro"].as_array().unwrap() {
        let a = sample(&case["a"]);
        let got = stats::shapiro_wilk(&a).unwrap();
        let (w, p) = (case["w"].as_f64().unwrap(), case["p"].as_f64().unwrap());
        let name = case["name"].as_str().unwrap();
        assert!((got.w - w).abs() < 2e-6, "{name}: W {} vs {w}", got.w);
        assert!(
            (got.p_value - p).abs() < 1e-5 * p.max(1e-3),
            "{name}: p {} vs {p}",
            got.p_value
        );
    }
    for case in r["ndtri"].as_array().unwrap() {
        let (p, z) = (case["p"].as_f64().unwrap(), case["z"].as_f64().unwrap());
        let got = stats::normal_quantile(p);
        assert!(
            (got - z).abs() <= 1e-13 * z.abs().max(1.0),
            "ndtri({p}) = {got} vs {z}"
        );
        if p > 1e-8 {
            let back = 1.0 - stats::normal_sf(got);
            assert!(
                (back - p).abs() <= 1e-12 * p.max(1e-3),
                "Φ(ndtri({p})) = {back}"
            );
        }
    }
    // Too few values, or no spread: no test.
    assert!(stats::shapiro_wilk(&[1.0, 2.0]).is_none());
    assert!(stats::shapiro_wilk(&[3.0; 10]).is_none());
}

proptest::proptest! {
    /// W lies in (0, 1] and the p-value in [0, 1] for any sample; W ignores order,
    /// location and scale.
    #[test]
    fn shapiro_wilk_is_bounded_and_affine_invariant(
        a in proptest::collection::vec(-1e3f64..1e3, 3..400),
        shift in -1e3f64..1e3,
        scale in 0.01f64..100.0,
    ) {
        if let Some(t) = stats::shapiro_wilk(&a) {
            proptest::prop_assert!(t.w > 0.0 && t.w <= 1.0, "W {}", t.w);
            proptest::prop_assert!((0.0..=1.0).contains(&t.p_value));
            let mut b: Vec<f64> = a.iter().rev().map(|x| x * scale + shift).collect();
            b.rotate_left(1);
            let u = stats::shapiro_wilk(&b).unwrap();
            proptest::prop_assert!((u.w - t.w).abs() < 1e-9, "{} vs {}", u.w, t.w);
        }
    }


    /// Identical samples drift by nothing, whatever they hold; the statistics ignore row
    /// order and are symmetric where the definition is.
    #[test]
    fn identical_samples_show_no_drift(mut a in proptest::collection::vec(-1e6f64..1e6, 1..300)) {
        a.sort_by(f64::total_cmp);
        let ks = stats::ks_2samp_sorted(&a, &a).unwrap();
        proptest::prop_assert_eq!(ks.statistic, 0.0);
        proptest::prop_assert_eq!(ks.p_value, 1.0);
        proptest::prop_assert_eq!(stats::wasserstein_sorted(&a, &a).unwrap(), 0.0);
        let counts = stats::bin_counts(&a, &[-10.0, 0.0, 10.0]);
        proptest::prop_assert!(stats::psi(&counts, &counts).unwrap().abs() < 1e-15);
        proptest::prop_assert!(stats::jensen_shannon(&counts, &counts).unwrap().abs() < 1e-7);
    }

    #[test]
    fn two_sample_statistics_are_symmetric(
        mut a in proptest::collection::vec(-100f64..100.0, 1..200),
        mut b in proptest::collection::vec(-100f64..100.0, 1..200),
    ) {
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let (x, y) = (stats::ks_2samp_sorted(&a, &b).unwrap(), stats::ks_2samp_sorted(&b, &a).unwrap());
        proptest::prop_assert!((x.statistic - y.statistic).abs() < 1e-12);
        proptest::prop_assert!((x.p_value - y.p_value).abs() < 1e-9);
        proptest::prop_assert!((0.0..=1.0).contains(&x.p_value));
        let (w1, w2) = (stats::wasserstein_sorted(&a, &b).unwrap(), stats::wasserstein_sorted(&b, &a).unwrap());
        proptest::prop_assert!((w1 - w2).abs() <= 1e-9 * w1.abs().max(1.0));
    }
}
