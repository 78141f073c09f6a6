//! `moat bom`: an AI bill of materials in CycloneDX 1.6 JSON. The model is a
//! `machine-learning-model` component with its model card where known (inventory
//! classification; for a folder, the Hugging Face-style `README.md` front matter and
//! `config.json`), its files as nested `file` components with SHA-256 hashes, the
//! datasets of its lineage as `data` components it depends on, and the scanner's
//! findings as `vulnerabilities` that affect the file they were found in.

use std::path::Path;

use moat_scan::Severity;
use serde_json::{json, Value};

/// A scanner finding, from a fresh scan or from stored scan evidence.
pub(crate) struct BomFinding {
    pub severity: Severity,
    pub rule: String,
    pub message: String,
    pub location: String,
    pub technique: Option<String>,
}

impl BomFinding {
    pub(crate) fn from_scan(f: &moat_scan::Located) -> Self {
        BomFinding {
            severity: f.severity,
            rule: f.rule.to_string(),
            message: f.message.clone(),
            location: f.location.clone(),
            technique: f.technique.map(str::to_owned),
        }
    }

    /// From a finding as stored in scan evidence (the `moat scan --format json` shape).
    pub(crate) fn from_json(v: &Value) -> Option<Self> {
        Some(BomFinding {
            severity: v["severity"].as_str()?.parse().ok()?,
            rule: v["rule"].as_str()?.to_owned(),
            message: v["message"].as_str().unwrap_or_default().to_owned(),
            location: v["location"].as_str().unwrap_or_default().to_owned(),
            technique: v["technique"].as_str().map(str::to_owned),
        })
    }
}

/// A dataset the model was built from.
pub(crate) struct BomDataset {
    pub name: String,
    pub version: Option<String>,
    pub digest: Option<String>,
    pub how: String,
    pub classification: Option<String>,
}

/// What is known of the model.
#[derive(Default)]
pub(crate) struct BomModel {
    pub name: String,
    pub version: Option<String>,
    /// The model's own digest (the inventory's manifest digest), when registered.
    pub digest: Option<String>,
    /// `(path, sha256, size)` of every file.
    pub files: Vec<(String, String, u64)>,
    pub datasets: Vec<BomDataset>,
    /// `moat:`-prefixed properties (tier, owner, sensitivity, source, signature…).
    pub properties: Vec<(String, String)>,
    pub card: Card,
    /// Scanner reports per file path, when the model was scanned.
    pub scan: Option<Vec<(String, Vec<BomFinding>)>>,
}

/// The model-card fields CycloneDX has room for.
#[derive(Default)]
pub(crate) struct Card {
    pub task: Option<String>,
    pub architecture_family: Option<String>,
    pub architecture: Option<String>,
    pub license: Option<String>,
    pub base_model: Option<String>,
    pub description: Option<String>,
}

/// Bare lowercase hex of a SHA-256 digest written with or without `sha256:`.
fn sha256_hex(d: &str) -> Option<String> {
    let h = d.strip_prefix("sha256:").unwrap_or(d).to_ascii_lowercase();
    (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())).then_some(h)
}

fn hashes(d: Option<&str>) -> Value {
    match d.and_then(sha256_hex) {
        Some(h) => json!([{ "alg": "SHA-256", "content": h }]),
        None => json!([]),
    }
}

fn properties(p: &[(String, String)]) -> Value {
    Value::Array(
        p.iter()
            .map(|(k, v)| json!({ "name": k, "value": v }))
            .collect(),
    )
}

fn serial_number() -> String {
    let mut b = [0u8; 16];
    // A serial number only needs to be unique; fall back to the clock if the OS RNG
    // is unavailable.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        b = t.to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The CycloneDX 1.6 document.
pub(crate) fn cyclonedx(m: &BomModel) -> Value {
    let model_ref = match &m.version {
        Some(v) => format!("model:{}@{}", m.name, v),
        None => format!("model:{}", m.name),
    };
    let file_ref = |p: &str| format!("{model_ref}/file:{p}");
    let dataset_ref = |d: &BomDataset| match &d.version {
        Some(v) => format!("dataset:{}@{}", d.name, v),
        None => format!("dataset:{}", d.name),
    };

    let mut params = serde_json::Map::new();
    if let Some(t) = &m.card.task {
        params.insert("task".into(), json!(t));
    }
    if let Some(a) = &m.card.architecture_family {
        params.insert("architectureFamily".into(), json!(a));
    }
    if let Some(a) = &m.card.architecture {
        params.insert("modelArchitecture".into(), json!(a));
    }
    if !m.datasets.is_empty() {
        params.insert(
            "datasets".into(),
            Value::Array(
                m.datasets
                    .iter()
                    .map(|d| json!({ "ref": dataset_ref(d) }))
                    .collect(),
            ),
        );
    }
    let mut card = json!({ "bom-ref": format!("{model_ref}/model-card") });
    if !params.is_empty() {
        card["modelParameters"] = Value::Object(params);
    }
    let mut considerations = serde_json::Map::new();
    if let Some(d) = &m.card.description {
        considerations.insert("useCases".into(), json!([d]));
    }
    if let Some(scan) = &m.scan {
        let findings: Vec<String> = scan
            .iter()
            .flat_map(|(p, r)| {
                r.iter()
                    .filter(|f| f.severity >= Severity::High)
                    .map(move |f| format!("{p}: {}", f.message))
            })
            .collect();
        if !findings.is_empty() {
            considerations.insert("technicalLimitations".into(), json!(findings));
        }
    }
    if !considerations.is_empty() {
        card["considerations"] = Value::Object(considerations);
    }

    let mut model = json!({
        "type": "machine-learning-model",
        "bom-ref": model_ref,
        "name": m.name,
        "hashes": hashes(m.digest.as_deref()),
        "modelCard": card,
        "components": m.files.iter().map(|(p, sha, size)| json!({
            "type": "file",
            "bom-ref": file_ref(p),
            "name": p,
            "hashes": hashes(Some(sha)),
            "properties": [{ "name": "moat:size", "value": size.to_string() }],
        })).collect::<Vec<_>>(),
    });
    if let Some(v) = &m.version {
        model["version"] = json!(v);
    }
    if let Some(l) = &m.card.license {
        model["licenses"] = json!([{ "license": { "name": l } }]);
    }
    if let Some(b) = &m.card.base_model {
        model["pedigree"] = json!({ "ancestors": [{
            "type": "machine-learning-model",
            "bom-ref": format!("{model_ref}/base:{b}"),
            "name": b,
        }] });
    }
    let mut props = m.properties.clone();
    if let Some(scan) = &m.scan {
        let worst = scan.iter().flat_map(|(_, r)| r).map(|f| f.severity).max();
        props.push((
            "moat:scan:worst-severity".into(),
            worst.map_or("none".into(), |s| s.to_string()),
        ));
        props.push((
            "moat:scan:findings".into(),
            scan.iter().map(|(_, r)| r.len()).sum::<usize>().to_string(),
        ));
    }
    model["properties"] = properties(&props);

    let datasets: Vec<Value> = m
        .datasets
        .iter()
        .map(|d| {
            let mut data = json!({ "type": "dataset", "name": d.name });
            if let Some(c) = &d.classification {
                data["classification"] = json!(c);
            }
            let mut c = json!({
                "type": "data",
                "bom-ref": dataset_ref(d),
                "name": d.name,
                "hashes": hashes(d.digest.as_deref()),
                "data": [data],
                "properties": [{ "name": "moat:lineage", "value": d.how }],
            });
            if let Some(v) = &d.version {
                c["version"] = json!(v);
            }
            c
        })
        .collect();

    let mut vulnerabilities = Vec::new();
    if let Some(scan) = &m.scan {
        for (p, r) in scan {
            for (i, f) in r.iter().enumerate() {
                let mut v = json!({
                    "bom-ref": format!("{}/finding:{i}", file_ref(p)),
                    "id": format!("moat-scan:{}", f.rule),
                    "source": { "name": "moat scan" },
                    "ratings": [{ "severity": f.severity.to_string(), "method": "other" }],
                    "description": f.message,
                    "detail": format!("{p}: {}", f.location),
                    "affects": [{ "ref": file_ref(p) }],
                });
                if let Some(t) = &f.technique {
                    v["properties"] = json!([{ "name": "moat:atlas-technique", "value": t }]);
                }
                vulnerabilities.push(v);
            }
        }
    }

    let mut components = vec![model];
    components.extend(datasets);
    let mut bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial_number(),
        "version": 1,
        "metadata": {
            "timestamp": moat_domain::format_time(moat_domain::now()),
            "tools": { "components": [{
                "type": "application",
                "name": "moat",
                "version": env!("CARGO_PKG_VERSION"),
            }] },
        },
        "components": components,
        "dependencies": [{
            "ref": model_ref,
            "dependsOn": m.datasets.iter().map(dataset_ref).collect::<Vec<_>>(),
        }],
    });
    if !vulnerabilities.is_empty() {
        bom["vulnerabilities"] = Value::Array(vulnerabilities);
    }
    bom
}

/// The model card of a model folder: the YAML front matter of its `README.md` (the
/// keys Hugging Face model cards use: `license`, `datasets`, `pipeline_tag`,
/// `base_model`) and `config.json` (`architectures`, `model_type`). Returns the card
/// and the datasets named.
pub(crate) fn card_from_folder(dir: &Path) -> (Card, Vec<String>) {
    let mut card = Card::default();
    let mut datasets = Vec::new();
    let read = |name: &str| {
        let p = dir.join(name);
        // Cards are small; a huge file is not a card.
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() && m.len() <= 1 << 20 => std::fs::read_to_string(p).ok(),
            _ => None,
        }
    };
    if let Some(readme) = read("README.md") {
        let fm = front_matter(&readme);
        for (k, values) in fm {
            let first = values.first().cloned();
            match k.as_str() {
                "license" => card.license = first,
                "pipeline_tag" => card.task = first,
                "base_model" => card.base_model = first,
                "datasets" => datasets = values,
                _ => {}
            }
        }
        let body = readme
            .split("\n---")
            .nth(if readme.starts_with("---") { 1 } else { 0 })
            .unwrap_or_default();
        card.description = body
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("---"))
            .map(|l| l.chars().take(500).collect());
    }
    if let Some(cfg) = read("config.json") {
        if let Ok(v) = serde_json::from_str::<Value>(&cfg) {
            card.architecture = v["architectures"][0].as_str().map(str::to_owned);
            card.architecture_family = v["model_type"].as_str().map(str::to_owned);
        }
    }
    (card, datasets)
}

/// The top-level keys of a YAML front matter with their scalar value or list items
/// (the subset model cards use; anything else is skipped).
fn front_matter(text: &str) -> Vec<(String, Vec<String>)> {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Vec::new();
    }
    let unquote = |s: &str| s.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines.take(2000) {
        if line.trim_end() == "---" {
            break;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            if line.starts_with(' ') || line.starts_with('-') {
                if let Some((_, v)) = out.last_mut() {
                    v.push(unquote(item));
                }
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim();
            let values = if v.is_empty() {
                Vec::new()
            } else if let Some(inner) = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                inner
                    .split(',')
                    .map(unquote)
                    .filter(|s| !s.is_empty())
                    .collect()
            } else {
                vec![unquote(v)]
            };
            out.push((k.trim().to_owned(), values));
        }
    }
    out
}

/// A model folder (or file): hashed, scanned, its card read from its files.
pub(crate) fn from_path(path: &Path, signing_key: Option<&Path>) -> anyhow::Result<BomModel> {
    let artifacts = crate::files::artifacts(&[path.to_owned()])?;
    let scan = crate::scan::scan_artifacts(&artifacts);
    let rel = |p: &str| {
        Path::new(p)
            .strip_prefix(path)
            .ok()
            .filter(|r| !r.as_os_str().is_empty())
            .map_or_else(|| p.to_owned(), |r| r.display().to_string())
    };
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let name = abs
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    let (card, datasets) = if path.is_dir() {
        card_from_folder(path)
    } else {
        (Card::default(), Vec::new())
    };
    let mut properties = Vec::new();
    let sig = crate::sign::default_signature(path);
    if sig.is_file() {
        let status = match signing_key {
            Some(k) => {
                let key = moat_sign::PublicKey::from_pem(
                    &std::fs::read_to_string(k)
                        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", k.display()))?,
                )?;
                let bundle = std::fs::read(&sig)?;
                match moat_sign::verify(path, &bundle, &key, &sig, false) {
                    Ok(v) => format!("verified (key {})", v.key_hint),
                    Err(e) => format!("NOT verified: {e}"),
                }
            }
            None => "present, not verified (pass --signing-key)".into(),
        };
        properties.push(("moat:signature".into(), status));
    }
    Ok(BomModel {
        name,
        version: None,
        digest: Some(moat_domain::ModelVersion::manifest(&artifacts)),
        files: artifacts
            .iter()
            .map(|a| (rel(&a.path), a.sha256.clone(), a.size))
            .collect(),
        datasets: datasets
            .into_iter()
            .map(|d| BomDataset {
                name: d,
                version: None,
                digest: None,
                how: "training".into(),
                classification: None,
            })
            .collect(),
        properties,
        card,
        scan: Some(
            scan.iter()
                .map(|(p, r)| {
                    (
                        rel(p),
                        r.findings.iter().map(BomFinding::from_scan).collect(),
                    )
                })
                .collect(),
        ),
    })
}

/// A registered model version: its inventory record, lineage, and the latest scan and
/// signature evidence.
pub(crate) async fn from_store(
    app: &moat_server::App,
    cx: &moat_server::Ctx,
    reference: &str,
) -> anyhow::Result<BomModel> {
    let d = app.show_model(cx, reference).await?;
    let m = &d.version;
    let mut datasets = Vec::new();
    for e in &d.lineage {
        let ds = app
            .show_dataset(cx, &format!("{}@{}", e.dataset, e.dataset_version))
            .await
            .ok();
        datasets.push(BomDataset {
            name: e.dataset.clone(),
            version: Some(e.dataset_version.clone()),
            digest: ds.as_ref().map(|x| x.dataset.digest.clone()),
            how: e.how.clone(),
            classification: ds.as_ref().map(|x| x.dataset.sensitivity.to_string()),
        });
    }
    let latest = |kind: moat_domain::EvidenceKind| {
        d.evidence
            .iter()
            .filter(|e| e.kind == kind)
            .max_by_key(|e| e.recorded_at)
    };
    let scan = latest(moat_domain::EvidenceKind::Scan).map(|e| {
        e.report["files"]
            .as_array()
            .map(|files| {
                files
                    .iter()
                    .map(|f| {
                        let path = f["path"].as_str().unwrap_or_default().to_owned();
                        let findings = f["report"]["findings"]
                            .as_array()
                            .map(|v| v.iter().filter_map(BomFinding::from_json).collect())
                            .unwrap_or_default();
                        (path, findings)
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let mut properties = vec![
        ("moat:owner".to_owned(), m.owner.clone()),
        ("moat:risk-tier".to_owned(), m.tier.to_string()),
        ("moat:sensitivity".to_owned(), m.sensitivity.to_string()),
        ("moat:source".to_owned(), m.source.label()),
        (
            "moat:review-due".to_owned(),
            moat_domain::format_time(m.review_due),
        ),
    ];
    if let Some(s) = &m.ai_system {
        properties.push(("moat:ai-system".into(), s.clone()));
    }
    for a in &d.aliases {
        properties.push(("moat:alias".into(), a.clone()));
    }
    if let Some(e) = latest(moat_domain::EvidenceKind::Signature) {
        properties.push((
            "moat:signature".into(),
            format!("{}: {}", e.verdict, e.summary),
        ));
    }
    Ok(BomModel {
        name: m.name.clone(),
        version: Some(m.version.clone()),
        digest: Some(m.digest.clone()),
        files: m
            .artifacts
            .iter()
            .map(|a| (a.path.clone(), a.sha256.clone(), a.size))
            .collect(),
        datasets,
        properties,
        card: Card::default(),
        scan,
    })
}

/// Writes the BOM to `out` (atomically) or standard output.
pub(crate) fn emit(m: &BomModel, out: Option<&Path>) -> anyhow::Result<std::process::ExitCode> {
    let bom = cyclonedx(m);
    match out {
        Some(p) => {
            let mut tmp = p.as_os_str().to_owned();
            tmp.push(".tmp");
            let tmp = std::path::PathBuf::from(tmp);
            std::fs::write(&tmp, serde_json::to_vec_pretty(&bom)?)
                .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", tmp.display()))?;
            std::fs::rename(&tmp, p)
                .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", p.display()))?;
            crate::output::note(&format!("CycloneDX 1.6 BOM written to {}", p.display()));
        }
        None => crate::output::json(&bom)?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_of_a_model_card() {
        let fm = front_matter(
            "---\nlicense: apache-2.0\ndatasets:\n- imdb\n- 'squad'\ntags: [a, \"b\"]\npipeline_tag: text-classification\n---\n# Model\nText.\n",
        );
        let get = |k: &str| fm.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
        assert_eq!(get("license").unwrap(), ["apache-2.0"]);
        assert_eq!(get("datasets").unwrap(), ["imdb", "squad"]);
        assert_eq!(get("tags").unwrap(), ["a", "b"]);
        assert_eq!(get("pipeline_tag").unwrap(), ["text-classification"]);
        assert!(front_matter("no front matter").is_empty());
    }
}
