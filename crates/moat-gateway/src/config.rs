//! `[gateway]` in `moat.toml`: the listener and the endpoints it fronts.
//!
//! ```toml
//! [gateway]
//! addr = "127.0.0.1:8443"
//!
//! [[gateway.endpoints]]
//! name = "credit-scoring"          # inventory endpoint; also the route prefix /credit-scoring/…
//! kind = "tabular"                 # generic | tabular | openai
//! model = "credit-scoring@3"       # inventory model version served
//! upstream = "http://127.0.0.1:9001"
//! rate_limit = { rate = 50, burst = 100 }         # per key
//! endpoint_rate_limit = { rate = 500, burst = 1000 }
//! ```

use std::sync::Arc;
use std::time::Duration;

use moat_data::profile::Profile;
use serde::Deserialize;

use crate::detect::{DetectorId, ExtractionSettings, Mode};
use crate::ratelimit::Limit;

/// What an endpoint speaks; detectors pick the requests they understand by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Any HTTP API.
    #[default]
    Generic,
    /// JSON rows in, predictions out.
    Tabular,
    /// OpenAI-compatible chat, completions and embeddings (server-sent events included).
    Openai,
}

/// `[gateway]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// Listener of the gateway (beside the API's); none leaves the gateway off unless
    /// `--gateway-addr` is given.
    pub addr: Option<String>,
    /// Largest request body accepted, in bytes (default 1 MiB).
    pub max_body_bytes: Option<u64>,
    /// Seconds to wait for an upstream's response head (default 30).
    pub upstream_timeout_s: Option<f64>,
    /// Milliseconds a verified key is trusted before it is looked up again (default
    /// 1000; revocations made through this server apply at once).
    pub key_cache_ms: Option<u64>,
    /// Seconds a client may take to send a request's head, and a body the gateway reads
    /// whole (default 30): slow clients are cut off, not waited for.
    pub client_timeout_s: Option<f64>,
    /// Failures in a row that open an upstream's circuit (default 5).
    pub circuit_failures: Option<u32>,
    /// Seconds an open circuit stays open before one trial request (default 10).
    pub circuit_open_s: Option<f64>,
    /// Threads serving the gateway, each with its own listener on `addr` (the kernel
    /// spreads connections over them), event loop and upstream connection pool
    /// (default: one a core).
    pub workers: Option<usize>,
    /// The request log: `{ policy = "drop" | "block" | "off", queue = 10000,
    /// retention_days = 90 }`.
    pub log: crate::traffic::LogSettings,
    pub endpoints: Vec<EndpointSettings>,
}

/// One `[[gateway.endpoints]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSettings {
    pub name: String,
    #[serde(default)]
    pub kind: Kind,
    /// `NAME@VERSION` of the model version served (for the kill switch and evidence).
    #[serde(default)]
    pub model: Option<String>,
    /// Base URL requests go to: `http://host:port` with an optional path prefix.
    pub upstream: String,
    /// Per key on this endpoint.
    #[serde(default)]
    pub rate_limit: Option<Limit>,
    /// For all keys together on this endpoint.
    #[serde(default)]
    pub endpoint_rate_limit: Option<Limit>,
    /// Overrides `[gateway] max_body_bytes`.
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
    /// Overrides `[gateway] upstream_timeout_s`.
    #[serde(default)]
    pub upstream_timeout_s: Option<f64>,
    /// Detectors on this endpoint and their modes: `{ pii = "block", prompt-injection = "alert" }`.
    #[serde(default)]
    pub detectors: std::collections::BTreeMap<String, Mode>,
    /// The model's data profile (`moat data profile TRAIN.csv -o FILE`), for the
    /// tabular detectors; a relative path is read from the working directory.
    #[serde(default)]
    pub profile: Option<std::path::PathBuf>,
    /// A column of the profile the callers do not send (the label).
    #[serde(default)]
    pub target: Option<String>,
    /// Live rows per drift comparison (default 1000).
    #[serde(default)]
    pub drift_window: Option<usize>,
    /// Thresholds of the `extraction` detector.
    #[serde(default)]
    pub extraction: Option<ExtractionSettings>,
    /// Answers the output watcher learns its baseline from (default 500), and the
    /// window it then compares with it (default 200).
    #[serde(default)]
    pub output_baseline: Option<usize>,
    #[serde(default)]
    pub output_window: Option<usize>,
    /// Largest response body the response detectors read whole (default 8 MiB); larger
    /// ones pass through uninspected and are counted.
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
    /// An upstream per model version: `{ "3" = "http://127.0.0.1:9003", "2" = "…" }`.
    /// The gateway routes to the version the inventory says the endpoint serves (its
    /// alias, moved by `moat endpoint rollback`); without it, to `upstream`.
    #[serde(default)]
    pub versions: std::collections::BTreeMap<String, String>,
    /// Keep each request's body, redacted and cut at 4 KiB, in its log record (the body
    /// is then read before it is forwarded).
    #[serde(default)]
    pub log_bodies: bool,
}

/// A checked endpoint, ready to route.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub kind: Kind,
    pub model: Option<String>,
    /// `http` or `https`, host and port, no trailing slash.
    pub origin: String,
    /// Path prefix on the upstream ("" or "/v1", no trailing slash).
    pub base_path: String,
    pub rate_limit: Option<Limit>,
    pub endpoint_rate_limit: Option<Limit>,
    pub max_body_bytes: u64,
    pub upstream_timeout: Duration,
    pub detectors: Vec<(DetectorId, Mode)>,
    pub profile: Option<Arc<Profile>>,
    pub target: Option<String>,
    pub drift_window: usize,
    pub extraction: ExtractionSettings,
    pub output_baseline: usize,
    pub output_window: usize,
    pub max_response_bytes: u64,
    /// Version → (origin, base path).
    pub versions: std::collections::HashMap<String, (String, String)>,
    pub log_bodies: bool,
}

/// The checked gateway configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub addr: Option<String>,
    pub key_cache: Duration,
    pub client_timeout: Duration,
    pub circuit_failures: u32,
    pub circuit_open: Duration,
    /// Serving threads; `None` for one a core.
    pub workers: Option<usize>,
    pub log: crate::traffic::LogSettings,
    pub endpoints: Vec<Endpoint>,
}

const DEFAULT_MAX_BODY: u64 = 1 << 20;
const DEFAULT_TIMEOUT_S: f64 = 30.0;

impl GatewaySettings {
    /// Checks every endpoint and reports every problem at once.
    pub fn validate(&self) -> Result<GatewayConfig, Vec<String>> {
        let mut problems = Vec::new();
        let mut endpoints = Vec::new();
        let body = self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY);
        let timeout = self.upstream_timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
        for (i, e) in self.endpoints.iter().enumerate() {
            let what = format!("gateway.endpoints[{i}] (`{}`)", e.name);
            if let Err(m) = check_name(&e.name) {
                problems.push(format!("{what}: {m}"));
            }
            if self.endpoints[..i].iter().any(|o| o.name == e.name) {
                problems.push(format!("{what}: the name is used twice"));
            }
            if let Some(m) = &e.model {
                if !m.contains('@') {
                    problems.push(format!(
                        "{what}: model must be NAME@VERSION (such as `credit-scoring@3`), got `{m}`"
                    ));
                }
            }
            for (l, n) in [
                (&e.rate_limit, "rate_limit"),
                (&e.endpoint_rate_limit, "endpoint_rate_limit"),
            ] {
                if let Some(l) = l {
                    if let Err(m) = l.validate(&format!("{what}: {n}")) {
                        problems.push(m);
                    }
                }
            }
            let mut detectors = Vec::new();
            for (id, mode) in &e.detectors {
                match id.parse::<DetectorId>() {
                    Ok(d) if !d.allows(*mode) => problems.push(format!(
                        "{what}: detector `{d}` cannot run in `{}` mode ({})",
                        mode.as_str(),
                        if *mode == Mode::Redact {
                            "only `pii` redacts"
                        } else {
                            "it judges windows of traffic, not one request; use `alert`"
                        }
                    )),
                    Ok(d) if d.needs_profile() && e.profile.is_none() => problems.push(format!(
                        "{what}: detector `{d}` needs the model's data profile: set `profile = \"baseline.json\"` (made by `moat data profile TRAIN.csv -o baseline.json`)"
                    )),
                    Ok(d) => detectors.push((d, *mode)),
                    Err(_) => problems.push(format!(
                        "{what}: unknown detector `{id}`; known: {}",
                        <DetectorId as strum::IntoEnumIterator>::iter()
                            .map(|d| format!("`{d}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                }
            }
            let t = e.upstream_timeout_s.unwrap_or(timeout);
            if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
                problems.push(format!(
                    "{what}: upstream_timeout_s must be between 0 and 3600 seconds"
                ));
            }
            let profile = match &e.profile {
                None => None,
                Some(path) => match std::fs::read(path) {
                    Err(err) => {
                        problems.push(format!(
                            "{what}: profile `{}` cannot be read: {err}",
                            path.display()
                        ));
                        None
                    }
                    Ok(bytes) => match Profile::from_json(&bytes) {
                        Ok(p) => Some(Arc::new(p)),
                        Err(err) => {
                            problems.push(format!("{what}: profile `{}`: {err}", path.display()));
                            None
                        }
                    },
                },
            };
            if let (Some(t), Some(p)) = (&e.target, &profile) {
                if !p.columns.iter().any(|c| &c.name == t) {
                    problems.push(format!(
                        "{what}: target `{t}` is not a column of the profile"
                    ));
                }
            }
            let mut versions = std::collections::HashMap::new();
            for (v, url) in &e.versions {
                match split_upstream(url) {
                    Ok(u) => {
                        versions.insert(v.clone(), u);
                    }
                    Err(m) => problems.push(format!("{what}: versions.{v}: {m}")),
                }
            }
            let extraction = e.extraction.clone().unwrap_or_default();
            if let Err(m) = extraction.validate() {
                problems.push(format!("{what}: extraction: {m}"));
            }
            match split_upstream(&e.upstream) {
                Ok((origin, base_path)) => endpoints.push(Endpoint {
                    name: e.name.clone(),
                    kind: e.kind,
                    model: e.model.clone(),
                    origin,
                    base_path,
                    rate_limit: e.rate_limit,
                    endpoint_rate_limit: e.endpoint_rate_limit,
                    max_body_bytes: e.max_body_bytes.unwrap_or(body),
                    upstream_timeout: Duration::from_secs_f64(t.clamp(0.001, 3600.0)),
                    detectors,
                    profile,
                    target: e.target.clone(),
                    drift_window: e.drift_window.unwrap_or(1000).clamp(50, 1_000_000),
                    extraction,
                    output_baseline: e.output_baseline.unwrap_or(500).clamp(20, 1_000_000),
                    output_window: e.output_window.unwrap_or(200).clamp(20, 100_000),
                    max_response_bytes: e.max_response_bytes.unwrap_or(8 << 20),
                    versions,
                    log_bodies: e.log_bodies,
                }),
                Err(m) => problems.push(format!("{what}: {m}")),
            }
        }
        let open_s = self.circuit_open_s.unwrap_or(10.0);
        let client_s = self.client_timeout_s.unwrap_or(30.0);
        if !(client_s.is_finite() && client_s > 0.0 && client_s <= 3600.0) {
            problems.push("gateway: client_timeout_s must be between 0 and 3600 seconds".into());
        }
        if self.workers.is_some_and(|n| n == 0 || n > 1024) {
            problems.push("gateway: workers must be between 1 and 1024".into());
        }
        if self.log.retention_days == 0 {
            problems.push("gateway: log.retention_days must be at least 1".into());
        }
        if !(open_s.is_finite() && open_s > 0.0 && open_s <= 3600.0) {
            problems.push("gateway: circuit_open_s must be between 0 and 3600 seconds".into());
        }
        if problems.is_empty() {
            Ok(GatewayConfig {
                addr: self.addr.clone(),
                key_cache: Duration::from_millis(self.key_cache_ms.unwrap_or(1000)),
                client_timeout: Duration::from_secs_f64(client_s.clamp(0.01, 3600.0)),
                circuit_failures: self.circuit_failures.unwrap_or(5).max(1),
                circuit_open: Duration::from_secs_f64(open_s),
                workers: self.workers,
                log: self.log,
                endpoints,
            })
        } else {
            Err(problems)
        }
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(
            "name must be 1 to 64 lower-case letters, digits, `-` or `_` (it is the route prefix)"
                .into(),
        )
    }
}

/// `http://host:port/prefix` into origin and path prefix.
fn split_upstream(url: &str) -> Result<(String, String), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("upstream `{url}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
                "upstream `{url}`: https upstreams are not supported yet; put the gateway beside the model server and use http"
            ))
        }
        _ => return Err(format!("upstream `{url}` must start with http://")),
    }
    let auth = uri
        .authority()
        .ok_or_else(|| format!("upstream `{url}` has no host"))?;
    if uri.query().is_some() {
        return Err(format!("upstream `{url}` must not have a query"));
    }
    let path = uri.path().trim_end_matches('/').to_owned();
    Ok((format!("http://{auth}"), path))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An endpoint of `kind` with every default.
    pub(crate) fn endpoint(name: &str, kind: Kind) -> Endpoint {
        let kind = match kind {
            Kind::Generic => "generic",
            Kind::Tabular => "tabular",
            Kind::Openai => "openai",
        };
        parse(&format!(
            "[[gateway.endpoints]]\nname = \"{name}\"\nkind = \"{kind}\"\nupstream = \"http://127.0.0.1:9\"\n"
        ))
        .expect("valid")
        .endpoints
        .remove(0)
    }

    fn parse(s: &str) -> Result<GatewayConfig, Vec<String>> {
        #[derive(Deserialize)]
        struct Top {
            gateway: GatewaySettings,
        }
        toml::from_str::<Top>(s).expect("toml").gateway.validate()
    }

    #[test]
    fn the_issue_shape_parses() {
        let c = parse(
            r#"
            [[gateway.endpoints]]
            name = "credit-scoring"
            kind = "tabular"
            model = "credit-scoring@3"
            upstream = "http://127.0.0.1:9001"
            "#,
        )
        .expect("valid");
        let e = &c.endpoints[0];
        assert_eq!(e.kind, Kind::Tabular);
        assert_eq!(e.origin, "http://127.0.0.1:9001");
        assert_eq!(e.base_path, "");
        assert_eq!(e.max_body_bytes, DEFAULT_MAX_BODY);
    }

    #[test]
    fn every_problem_is_reported() {
        let err = parse(
            r#"
            [[gateway.endpoints]]
            name = "Bad Name"
            model = "no-version"
            upstream = "ftp://x"
            rate_limit = { rate = 0, burst = 1 }
            detectors = { pii = "block", nonsense = "log", tabular-drift = "block", prompt-injection = "redact", tabular-anomaly = "alert" }
            [[gateway.endpoints]]
            name = "dup"
            upstream = "http://a:1/v1/"
            versions = { "2" = "ftp://old" }
            [[gateway.endpoints]]
            name = "dup"
            upstream = "http://a:1"
            "#,
        )
        .expect_err("invalid");
        let all = err.join("\n");
        for want in [
            "name must be",
            "NAME@VERSION",
            "http://",
            "rate must be",
            "used twice",
            "unknown detector `nonsense`",
            "`tabular-drift` cannot run in `block` mode",
            "only `pii` redacts",
            "`tabular-anomaly` needs the model's data profile",
            "versions.2: upstream `ftp://old`",
        ] {
            assert!(all.contains(want), "missing `{want}` in:\n{all}");
        }
    }

    #[test]
    fn base_paths_keep_their_prefix() {
        let c = parse(
            r#"
            [[gateway.endpoints]]
            name = "chat"
            kind = "openai"
            upstream = "http://127.0.0.1:9002/v1/"
            "#,
        )
        .expect("valid");
        assert_eq!(c.endpoints[0].base_path, "/v1");
    }
}
