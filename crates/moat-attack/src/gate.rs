//! `--gate "success_rate<=0.2,median_l2>=0.5"`: conditions on a report's numbers, checked
//! in CI. Any top-level number of a JSON report can be named, so the same gate syntax
//! serves attacks, membership inference, explanations and probes (`pass_rate.injection`
//! reaches into an object).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Eq => "==",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub metric: String,
    pub op: Op,
    pub value: f64,
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{}", self.metric, self.op.as_str(), self.value)
    }
}

/// The outcome of one condition.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub condition: String,
    pub actual: Option<f64>,
    pub passed: bool,
}

/// Parses `metric<=0.2,other>=1`. Errors say which part is wrong.
pub fn parse(spec: &str) -> Result<Vec<Condition>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (at, op, len) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .filter_map(|(s, op)| part.find(s).map(|i| (i, *op, s.len())))
        .min_by_key(|(i, _, len)| (*i, std::cmp::Reverse(*len)))
        .ok_or_else(|| {
            format!("gate condition `{part}` has no comparison: write e.g. `success_rate<=0.2`")
        })?;
        let metric = part[..at].trim();
        let value = part[at + len..].trim();
        if metric.is_empty()
            || !metric
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            return Err(format!(
                "gate condition `{part}`: `{metric}` is not a metric name"
            ));
        }
        let value: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("gate condition `{part}`: `{value}` is not a number"))?;
        out.push(Condition {
            metric: metric.to_owned(),
            op,
            value,
        });
    }
    if out.is_empty() {
        return Err("the gate names no condition".into());
    }
    Ok(out)
}

/// Looks `a.b` up in a JSON report.
fn lookup(report: &serde_json::Value, metric: &str) -> Option<f64> {
    let mut v = report;
    for key in metric.split('.') {
        v = v.get(key)?;
    }
    match v {
        serde_json::Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        other => other.as_f64(),
    }
}

/// Checks every condition; a metric the report lacks (or that is null) fails.
pub fn check(report: &serde_json::Value, conditions: &[Condition]) -> Vec<Outcome> {
    conditions
        .iter()
        .map(|c| {
            let actual = lookup(report, &c.metric);
            let passed = actual.is_some_and(|a| match c.op {
                Op::Le => a <= c.value,
                Op::Ge => a >= c.value,
                Op::Lt => a < c.value,
                Op::Gt => a > c.value,
                Op::Eq => (a - c.value).abs() <= 1e-12 * c.value.abs().max(1.0),
            });
            Outcome {
                condition: c.to_string(),
                actual,
                passed,
            }
        })
        .collect()
}

/// A JUnit XML document: one test case per named check (`failure` carries the message).
pub fn junit(suite: &str, cases: &[(String, Option<String>)]) -> String {
    let failures = cases.iter().filter(|c| c.1.is_some()).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"moat\" tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        cases.len(),
        xml(suite),
        cases.len()
    ));
    for (name, failure) in cases {
        match failure {
            None => s.push_str(&format!("    <testcase classname=\"{}\" name=\"{}\"/>\n", xml(suite), xml(name))),
            Some(msg) => s.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                xml(suite),
                xml(name),
                xml(msg),
                xml(msg)
            )),
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// Escapes text for XML, dropping characters XML 1.0 cannot carry.
pub fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        let c = parse("success_rate<=0.2, median_l2>=0.5,pass_rate.injection==1").expect("parses");
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].op, Op::Le);
        let r = serde_json::json!({"success_rate": 0.1, "median_l2": null, "pass_rate": {"injection": 1.0}});
        let o = check(&r, &c);
        assert!(o[0].passed);
        assert!(!o[1].passed, "null fails");
        assert!(o[2].passed);
    }

    #[test]
    fn bad_gates_say_why() {
        assert!(parse("success_rate").unwrap_err().contains("no comparison"));
        assert!(parse("x<=abc").unwrap_err().contains("not a number"));
        assert!(parse("<=1").unwrap_err().contains("not a metric"));
        assert!(parse("").is_err());
    }

    #[test]
    fn junit_escapes() {
        let x = junit("a<b", &[("c&d".into(), Some("\"x\"\u{1}".into()))]);
        assert!(x.contains("a&lt;b") && x.contains("c&amp;d") && x.contains("&quot;x&quot;"));
        assert!(!x.contains('\u{1}'));
    }
}
