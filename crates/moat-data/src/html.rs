//! The drift report as one self-contained HTML page: no script, no network, inline SVG
//! only. A summary chart (each column's statistic against its threshold), then per
//! column the reference and current distributions overlaid — a histogram on shared
//! bins for numbers, the most frequent categories side by side for labels, token
//! signals for text — with the test, the value and the signals.

use std::fmt::Write as _;

use crate::collect::{ColumnValues, DatasetValues};
use crate::drift::{category_counts, ColumnDrift, DriftReport};
use crate::read::Storage;

const REF: &str = "#4e79a7";
const CUR: &str = "#f28e2b";
const BAD: &str = "#e15759";
const OK: &str = "#59a14f";

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

fn num(x: f64) -> String {
    if x == 0.0 || (1e-3..1e5).contains(&x.abs()) {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

/// The page for `report`, drawn from the values it compared.
pub fn drift_page(
    report: &DriftReport,
    reference: &DatasetValues,
    current: &DatasetValues,
    title: &str,
) -> String {
    let mut h = String::new();
    let drifted = report.columns.iter().filter(|c| c.drifted).count();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{t}</title><style>\
         body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}}\
         h1{{font-size:1.5em}} h2{{font-size:1.15em;margin:0 0 .3em}}\
         .verdict{{padding:.6em 1em;border-radius:6px;color:#fff;display:inline-block}}\
         .col{{border:1px solid #ddd;border-radius:6px;padding:1em;margin:1em 0}}\
         .tag{{font-size:.8em;padding:.1em .5em;border-radius:4px;color:#fff;margin-left:.5em}}\
         table{{border-collapse:collapse}} td,th{{padding:.15em .8em;text-align:left;border-bottom:1px solid #eee}}\
         .legend span{{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}}\
         </style></head><body><h1>{t}</h1>",
        t = esc(title)
    );
    let _ = write!(
        h,
        "<p><span class=\"verdict\" style=\"background:{}\">{}</span> {drifted} of {} columns drifted \
         (share {:.2}, severity-weighed {:.2}; the dataset drifts at {:.2}). Reference {} rows, current {} rows.</p>",
        if report.dataset_drift { BAD } else { OK },
        if report.dataset_drift { "Dataset drift" } else { "No dataset drift" },
        report.columns.len(),
        report.drift_share,
        report.weighted_share,
        report.threshold_share,
        report.reference_rows,
        report.current_rows
    );
    h.push_str("<h2>Summary</h2>");
    summary_chart(&mut h, report);
    h.push_str(&format!(
        "<p class=\"legend\"><span style=\"background:{REF}\"></span>reference<span style=\"background:{CUR}\"></span>current</p>"
    ));
    for c in &report.columns {
        let (Some(r), Some(cur)) = (reference.column(&c.name), current.column(&c.name)) else {
            let _ = write!(
                h,
                "<div class=\"col\"><h2>{}<span class=\"tag\" style=\"background:{BAD}\">missing</span></h2>\
                 <p>The current dataset has no column of this name.</p></div>",
                esc(&c.name)
            );
            continue;
        };
        column(&mut h, c, r, cur);
    }
    h.push_str("<p style=\"color:#888\">Made by Moat (<code>moat data drift --html</code>).</p></body></html>");
    h
}

fn summary_chart(h: &mut String, report: &DriftReport) {
    let row_h = 22.0;
    let width = 760.0;
    let label_w = 200.0;
    let bar_w = width - label_w - 140.0;
    let height = row_h * report.columns.len() as f64 + 30.0;
    let _ = write!(
        h,
        "<svg role=\"img\" aria-label=\"drift per column\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    // Each bar: statistic over threshold (1 = at the threshold), capped at 3; p-value
    // tests as threshold over p.
    let _ = write!(
        h,
        "<line x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{y}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{x}\" y=\"{y2}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#666\">threshold</text>",
        x = label_w + bar_w / 3.0,
        y = height - 20.0,
        y2 = height - 6.0
    );
    for (i, c) in report.columns.iter().enumerate() {
        let ratio = match c.p_value {
            Some(p) => c.threshold / p.max(1e-300),
            None if c.threshold > 0.0 => c.statistic / c.threshold,
            None => f64::from(u8::from(c.drifted)),
        };
        let len = (ratio.clamp(0.0, 3.0) / 3.0) * bar_w;
        let y = i as f64 * row_h + 4.0;
        let _ = write!(
            h,
            "<text x=\"{lx}\" y=\"{ty}\" font-size=\"12\" text-anchor=\"end\">{name}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{len:.1}\" height=\"{bh}\" fill=\"{fill}\"/>\
             <text x=\"{vx}\" y=\"{ty}\" font-size=\"11\" fill=\"#444\">{test} {value}</text>",
            lx = label_w - 8.0,
            ty = y + 13.0,
            name = esc(&c.name),
            bh = row_h - 6.0,
            fill = if c.drifted { BAD } else { OK },
            vx = label_w + len + 6.0,
            test = esc(&test_name(c)),
            value = num(c.p_value.unwrap_or(c.statistic)),
        );
    }
    h.push_str("</svg>");
}

fn test_name(c: &ColumnDrift) -> String {
    serde_json::to_value(c.test)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn column(h: &mut String, c: &ColumnDrift, r: &ColumnValues, cur: &ColumnValues) {
    let _ = write!(
        h,
        "<div class=\"col\"><h2>{}<span class=\"tag\" style=\"background:{}\">{}</span></h2>\
         <p>{} · test <b>{}</b> = {} (threshold {}){}</p>",
        esc(&c.name),
        if c.drifted { BAD } else { OK },
        if c.drifted { "drift" } else { "ok" },
        c.kind,
        esc(&test_name(c)),
        num(c.p_value.unwrap_or(c.statistic)),
        num(c.threshold),
        if c.p_value.is_some() {
            " (p-value)"
        } else {
            ""
        }
    );
    let numeric = r.storage == Storage::Number && c.kind == "numerical";
    if numeric {
        histogram(h, r, cur);
    } else if c.kind != "text" {
        categories(h, r, cur);
    }
    h.push_str("<table><tr><th>signal</th><th>reference</th><th>current</th><th></th></tr>");
    for s in &c.signals {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"color:{}\">{}</td></tr>",
            s.kind,
            num(s.reference),
            num(s.current),
            if s.drifted { BAD } else { OK },
            if s.drifted { "drift" } else { "ok" }
        );
    }
    for (k, v) in &c.effect {
        let _ = write!(h, "<tr><td>{k}</td><td colspan=\"3\">{}</td></tr>", num(*v));
    }
    h.push_str("</table></div>");
}

/// Shares of each sample in 30 equal bins over both samples' 0.5–99.5% range (the
/// extremes go to the end bins).
fn histogram(h: &mut String, r: &ColumnValues, c: &ColumnValues) {
    const BINS: usize = 30;
    let q = |v: &[f64], p: f64| -> Option<f64> {
        let i = ((v.len().checked_sub(1)?) as f64 * p) as usize;
        v.get(i).copied()
    };
    let lo = [q(&r.numbers, 0.005), q(&c.numbers, 0.005)]
        .into_iter()
        .flatten()
        .fold(f64::INFINITY, f64::min);
    let hi = [q(&r.numbers, 0.995), q(&c.numbers, 0.995)]
        .into_iter()
        .flatten()
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        h.push_str("<p>No values to draw.</p>");
        return;
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let shares = |v: &[f64]| -> Vec<f64> {
        let mut b = vec![0.0; BINS];
        for &x in v {
            let i = (((x - lo) / span) * BINS as f64)
                .floor()
                .clamp(0.0, (BINS - 1) as f64) as usize;
            if let Some(s) = b.get_mut(i) {
                *s += 1.0;
            }
        }
        let n = v.len().max(1) as f64;
        b.iter().map(|x| x / n).collect()
    };
    let (a, b) = (shares(&r.numbers), shares(&c.numbers));
    let top = a
        .iter()
        .chain(&b)
        .copied()
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let (w, ht) = (720.0, 180.0);
    let bw = w / BINS as f64;
    let _ = write!(
        h,
        "<svg role=\"img\" aria-label=\"distributions\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\">",
        ht + 20.0,
        ht + 20.0
    );
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let left = i as f64 * bw;
        for (share, colour, off) in [(x, REF, 0.0), (y, CUR, bw / 2.0)] {
            let bh = share / top * ht;
            let _ = write!(
                h,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{colour}\" opacity=\"0.85\"/>",
                left + off,
                ht - bh,
                bw / 2.0 - 1.0
            );
        }
    }
    let _ = write!(
        h,
        "<text x=\"0\" y=\"{y}\" font-size=\"11\">{}</text><text x=\"{w}\" y=\"{y}\" font-size=\"11\" text-anchor=\"end\">{}</text></svg>",
        num(lo),
        num(hi),
        y = ht + 15.0
    );
}

/// The 12 most frequent categories of either sample, shares side by side.
fn categories(h: &mut String, r: &ColumnValues, c: &ColumnValues) {
    let (rm, cm) = (category_counts(r), category_counts(c));
    let (rt, ct): (f64, f64) = (rm.values().sum(), cm.values().sum());
    let mut keys: Vec<(&String, f64)> = rm
        .keys()
        .chain(cm.keys())
        .map(|k| {
            let s = rm.get(k).copied().unwrap_or(0.0) / rt.max(1.0)
                + cm.get(k).copied().unwrap_or(0.0) / ct.max(1.0);
            (k, s)
        })
        .collect();
    keys.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    keys.dedup_by(|a, b| a.0 == b.0);
    keys.truncate(12);
    let row_h = 20.0;
    let (w, label_w) = (720.0, 220.0);
    let bar_w = w - label_w - 60.0;
    let ht = keys.len() as f64 * row_h * 2.0 + 10.0;
    let top = keys
        .iter()
        .map(|(k, _)| {
            (rm.get(*k).copied().unwrap_or(0.0) / rt.max(1.0))
                .max(cm.get(*k).copied().unwrap_or(0.0) / ct.max(1.0))
        })
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let _ = write!(
        h,
        "<svg role=\"img\" aria-label=\"categories\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\">"
    );
    for (i, (k, _)) in keys.iter().enumerate() {
        let y = i as f64 * row_h * 2.0 + 4.0;
        let name = if k.starts_with('\u{0}') {
            "(other)".to_owned()
        } else {
            (*k).clone()
        };
        let shown: String = name.chars().take(32).collect();
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + row_h,
            esc(&shown)
        );
        for (j, (share, colour)) in [
            (rm.get(*k).copied().unwrap_or(0.0) / rt.max(1.0), REF),
            (cm.get(*k).copied().unwrap_or(0.0) / ct.max(1.0), CUR),
        ]
        .into_iter()
        .enumerate()
        {
            let len = share / top * bar_w;
            let yy = y + j as f64 * (row_h - 2.0);
            let _ = write!(
                h,
                "<rect x=\"{label_w}\" y=\"{yy:.1}\" width=\"{len:.1}\" height=\"{}\" fill=\"{colour}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#444\">{:.1}%</text>",
                row_h - 4.0,
                label_w + len + 4.0,
                yy + row_h - 7.0,
                share * 100.0
            );
        }
    }
    h.push_str("</svg>");
}
