//! Configuration: `moat.toml`, then `MOAT_*` variables, then flags. Parsed into a raw
//! tree, then validated into [`Config`], reporting every problem at once.
//!
//! The doc comments of the raw structs are the reference; `moat.example.toml` at the
//! repository root shows every key and is checked to parse.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use moat_domain::ReviewCycles;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawConfig {
    pub storage: RawStorage,
    pub server: RawServer,
    pub governance: RawGovernance,
    pub audit: RawAudit,
    pub keys: RawKeys,
    pub signing: RawSigning,
    pub data: RawData,
    /// `[gateway]` and `[[gateway.endpoints]]` (see `moat_gateway::config`).
    pub gateway: moat_gateway::GatewaySettings,
}

/// `moat data` settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawData {
    pub drift: DriftSettings,
}

/// `[data.drift]`: the choices of `moat data drift`; each unset key keeps the built-in
/// default (Evidently's), and the command's flags override these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DriftSettings {
    /// Columns with at most this many reference values get KS / chi-square (1000).
    pub small_sample: Option<usize>,
    /// Numbers with at most this many distinct values are categorical (5).
    pub max_numeric_categories: Option<usize>,
    /// Drift below this KS p-value (0.05).
    pub ks_p: Option<f64>,
    /// Drift below this chi-square p-value (0.05).
    pub chi2_p: Option<f64>,
    /// Drift at or above this normed Wasserstein distance (0.1).
    pub wasserstein: Option<f64>,
    /// Drift at or above this Jensen–Shannon distance (0.1).
    pub jensen_shannon: Option<f64>,
    /// Drift at or above this PSI (0.1).
    pub psi: Option<f64>,
    /// Drift at or above this share of unseen tokens in a text column (0.1).
    pub text_unseen: Option<f64>,
    /// The dataset drifts at this share of drifted columns (0.5).
    pub drift_share: Option<f64>,
    /// A missing share that moves by at least this much (0.05)…
    pub null_jump: Option<f64>,
    /// …with a two-proportion p-value below this (0.001) drifts the column.
    pub null_p: Option<f64>,
    /// Share of values out of range or never seen that drifts a column (0.05).
    pub unseen: Option<f64>,
    /// Per column, `TEST` or `TEST:THRESHOLD` (ks, wasserstein, psi, chisquare,
    /// jensenshannon).
    pub tests: std::collections::BTreeMap<String, String>,
    /// Columns left out.
    pub ignore: Vec<String>,
}

impl DriftSettings {
    fn problems(&self, out: &mut Vec<String>) {
        let shares = [
            ("ks_p", self.ks_p),
            ("chi2_p", self.chi2_p),
            ("drift_share", self.drift_share),
            ("null_jump", self.null_jump),
            ("null_p", self.null_p),
            ("unseen", self.unseen),
            ("text_unseen", self.text_unseen),
            ("jensen_shannon", self.jensen_shannon),
        ];
        for (k, v) in shares {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    out.push(format!("[data.drift] {k} must be between 0 and 1, got {v}"));
                }
            }
        }
        for (k, v) in [("wasserstein", self.wasserstein), ("psi", self.psi)] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    out.push(format!(
                        "[data.drift] {k} must be a positive number, got {v}"
                    ));
                }
            }
        }
        for (col, spec) in &self.tests {
            if let Err(e) = crate::data::parse_test(spec) {
                out.push(format!("[data.drift.tests] `{col}`: {e}"));
            }
        }
    }
}

/// Model signatures checked at registration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawSigning {
    /// PEM public keys of trusted model signers (relative paths are relative to the
    /// working directory).
    pub public_keys: Vec<PathBuf>,
    /// Risk tiers whose model versions must carry a valid signature.
    pub required_tiers: Vec<moat_domain::RiskTier>,
}

/// Where state lives.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawStorage {
    /// Data directory (embedded database, signing key, admin key). Default `./.moat`.
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL for scale-out; when unset the embedded SQLite file is used.
    pub database_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawServer {
    /// Address of the REST API and dashboard. Default `127.0.0.1:8080`.
    pub addr: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawGovernance {
    /// Days between reviews per risk tier.
    pub review_days: ReviewCycles,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawAudit {
    /// Name of the log in its signed checkpoints, used at `moat init` only (kept in the
    /// store afterwards). Default `moat.local/audit/<random>`.
    pub origin: Option<String>,
    /// Keep a signed checkpoint in the history every this many entries.
    pub checkpoint_every: u64,
}

impl Default for RawAudit {
    fn default() -> Self {
        RawAudit {
            origin: None,
            checkpoint_every: 1024,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawKeys {
    /// Hours a rotated key stays valid beside its replacement.
    pub rotation_overlap_hours: u64,
}

impl Default for RawKeys {
    fn default() -> Self {
        RawKeys {
            rotation_overlap_hours: 24,
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub addr: String,
    pub review_cycles: ReviewCycles,
    pub audit_origin: Option<String>,
    pub checkpoint_every: u64,
    pub rotation_overlap: Duration,
    pub signing_keys: Vec<PathBuf>,
    pub signature_required: Vec<moat_domain::RiskTier>,
    pub drift: DriftSettings,
    pub gateway: moat_gateway::GatewayConfig,
}

impl RawConfig {
    pub(crate) fn parse(text: &str, file: &Path) -> anyhow::Result<RawConfig> {
        toml::from_str(text)
            .with_context(|| format!("invalid configuration in `{}`", file.display()))
    }

    /// Applies `MOAT_*` overrides read through `var` (tests pass a map).
    pub(crate) fn apply_env(&mut self, var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        let mut days = |name: &str, slot: &mut u32| {
            if let Some(v) = var(name) {
                match v.parse() {
                    Ok(d) => *slot = d,
                    Err(_) => {
                        problems.push(format!("`{name}` must be a number of days, got `{v}`"))
                    }
                }
            }
        };
        days(
            "MOAT_REVIEW_DAYS_HIGH",
            &mut self.governance.review_days.high,
        );
        days(
            "MOAT_REVIEW_DAYS_LIMITED",
            &mut self.governance.review_days.limited,
        );
        days(
            "MOAT_REVIEW_DAYS_MINIMAL",
            &mut self.governance.review_days.minimal,
        );
        if let Some(v) = var("MOAT_AUDIT_ORIGIN") {
            self.audit.origin = Some(v);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("{}", problems.join("; "))
        }
    }

    pub(crate) fn validate(self) -> anyhow::Result<Config> {
        let mut problems = Vec::new();
        if let Err(e) = self.governance.review_days.validate() {
            problems.push(format!("[governance.review_days]: {e}"));
        }
        if self.audit.checkpoint_every == 0 {
            problems.push("[audit] checkpoint_every must be at least 1".to_owned());
        }
        if let Some(o) = &self.audit.origin {
            if o.is_empty() || o.contains('+') || o.chars().any(char::is_whitespace) {
                problems.push(format!(
                    "[audit] origin `{o}` must be non-empty, without spaces or `+`"
                ));
            }
        }
        if let Some(u) = &self.storage.database_url {
            if !(u.starts_with("postgres://") || u.starts_with("postgresql://")) {
                problems.push(format!(
                    "[storage] database_url `{}` must be a postgres:// URL (SQLite is the default without it)",
                    moat_store::redact_url(u)
                ));
            }
        }
        self.data.drift.problems(&mut problems);
        let gateway = match self.gateway.validate() {
            Ok(g) => Some(g),
            Err(p) => {
                problems.extend(p);
                None
            }
        };
        if !problems.is_empty() {
            bail!("invalid configuration: {}", problems.join("; "));
        }
        Ok(Config {
            data_dir: self
                .storage
                .data_dir
                .unwrap_or_else(|| PathBuf::from(".moat")),
            database_url: self.storage.database_url,
            addr: self
                .server
                .addr
                .unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            review_cycles: self.governance.review_days,
            audit_origin: self.audit.origin,
            checkpoint_every: self.audit.checkpoint_every,
            rotation_overlap: Duration::from_secs(self.keys.rotation_overlap_hours * 3600),
            signing_keys: self.signing.public_keys,
            signature_required: self.signing.required_tiers,
            drift: self.data.drift,
            gateway: gateway.expect("no problems, so the gateway settings are valid"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn example_file_parses() {
        let text = include_str!("../../../moat.example.toml");
        let cfg = RawConfig::parse(text, Path::new("moat.example.toml"))
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(cfg.review_cycles.high, 30);
        assert_eq!(
            cfg.signature_required,
            [moat_domain::RiskTier::Unacceptable]
        );
        assert_eq!(cfg.drift.ks_p, Some(0.05));
        let credit = &cfg.gateway.endpoints[0];
        assert_eq!(credit.name, "credit-scoring");
        assert_eq!(credit.kind, moat_gateway::Kind::Tabular);
        assert_eq!(credit.model.as_deref(), Some("credit-scoring@3"));
        assert!(credit.rate_limit.is_some());
        assert_eq!(
            cfg.drift.tests.get("amount").map(String::as_str),
            Some("psi:0.2")
        );
    }

    #[test]
    fn drift_settings_are_checked() {
        let raw = RawConfig::parse(
            "[data.drift]\nks_p = 2.0\npsi = -1\n[data.drift.tests]\namount = \"tea\"\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let msg = raw.validate().unwrap_err().to_string();
        assert!(
            msg.contains("ks_p") && msg.contains("psi") && msg.contains("`amount`"),
            "{msg}"
        );
        let err = RawConfig::parse("[data.drift]\nks = 0.1\n", Path::new("m.toml")).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field `ks`"));
    }

    #[test]
    fn env_overrides_and_all_problems_reported() {
        let mut raw =
            RawConfig::parse("[governance.review_days]\nhigh = 14\n", Path::new("m.toml")).unwrap();
        let env: HashMap<&str, &str> = [("MOAT_REVIEW_DAYS_LIMITED", "45")].into();
        raw.apply_env(&|k| env.get(k).map(|v| v.to_string()))
            .unwrap();
        let cfg = raw.validate().unwrap();
        assert_eq!(
            (
                cfg.review_cycles.high,
                cfg.review_cycles.limited,
                cfg.review_cycles.minimal
            ),
            (14, 45, 365)
        );

        let err = RawConfig::parse("[storage]\nbogus = 1\n", Path::new("m.toml")).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field `bogus`"));
        let raw = RawConfig::parse(
            "[governance.review_days]\nhigh = 0\n[audit]\ncheckpoint_every = 0\n[storage]\ndatabase_url = \"mysql://u:pw@h/db\"\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let msg = raw.validate().unwrap_err().to_string();
        assert!(
            msg.contains("review_days")
                && msg.contains("checkpoint_every")
                && msg.contains("u:[redacted]@h"),
            "{msg}"
        );
    }
}
