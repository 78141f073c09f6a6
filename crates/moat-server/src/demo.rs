//! The demo organisation that `moat serve --demo` seeds into an empty store, so a
//! newcomer sees a populated inventory at once: two AI systems, a vendor, datasets,
//! model versions with lineage, production and staging aliases (with a rollback
//! history), endpoints, evidence, a recent review and one overdue review.
//!
//! Everything goes through the ordinary service operations and is audited.

use std::time::Duration;

use moat_domain::{
    Artifact, EvidenceKind, NewEvidence, Permission, RiskTier, Sensitivity, Source,
    VendorQuestionnaire, Verdict,
};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::service::{
    App, Ctx, NewEndpoint, NewSystem, RegisterDataset, RegisterModel, VendorInput,
};

fn artifact(path: &str) -> Artifact {
    // Demo artifacts are not files: their digests are of their names.
    let bytes = format!("demo artifact {path}");
    Artifact {
        path: path.to_owned(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes.as_bytes())),
    }
}

fn digest(name: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(name.as_bytes())))
}

/// The setting that marks a store as holding the demo organisation.
const DEMO_SETTING: &str = "demo";

/// Whether the store holds the demo organisation (and nothing a real deployment would
/// mind showing without a key).
pub async fn is_demo_store(app: &App) -> Result<bool> {
    let mut c = app.store().conn().await?;
    Ok(moat_store::get_setting(&mut c, DEMO_SETTING)
        .await?
        .as_deref()
        == Some("1"))
}

/// Seeds the demo organisation into a store with no models, and marks it as a demo
/// store. Does nothing (returns `false`) when models are already registered.
pub async fn seed_demo(app: &App) -> Result<bool> {
    let cx = Ctx::system();
    if !app.list_models(&cx, None).await?.is_empty() {
        return Ok(false);
    }
    {
        let mut c = app.store().conn().await?;
        moat_store::set_setting(&mut c, DEMO_SETTING, "1").await?;
    }
    for (name, owner, description) in [
        (
            "credit-decisioning",
            "risk-team",
            "Consumer credit scoring and limit decisions",
        ),
        (
            "support-assistant",
            "ml-platform",
            "LLM assistant answering customer support tickets",
        ),
    ] {
        app.add_system(
            &cx,
            NewSystem {
                name: name.into(),
                owner: owner.into(),
                description: description.into(),
            },
        )
        .await?;
    }
    app.add_vendor(
        &cx,
        VendorInput {
            name: "acme-ai".into(),
            source: "hub:https://huggingface.co/acme-ai".into(),
            licence: "apache-2.0".into(),
            questionnaire: VendorQuestionnaire::Approved,
            last_review: Some(moat_domain::format_time(
                moat_domain::now() - Duration::from_secs(40 * 86_400),
            )),
            notes: "SOC 2 report received".into(),
        },
        false,
    )
    .await?;
    for (name, version, sensitivity, system, columns) in [
        (
            "loans",
            "2025-q3",
            Sensitivity::Confidential,
            "credit-decisioning",
            vec![
                ("income", "float"),
                ("age", "integer"),
                ("region", "string"),
                ("default", "integer"),
            ],
        ),
        (
            "support-tickets",
            "3",
            Sensitivity::Restricted,
            "support-assistant",
            vec![
                ("ticket_id", "string"),
                ("text", "string"),
                ("label", "string"),
            ],
        ),
    ] {
        let schema = serde_json::json!({
            "columns": columns.iter().map(|(n, t)| serde_json::json!({ "name": n, "type": t })).collect::<Vec<_>>()
        });
        app.register_dataset(
            &cx,
            RegisterDataset {
                name: name.into(),
                version: version.into(),
                path: format!("s3://demo-data/{name}/{version}.parquet"),
                digest: digest(&format!("{name}@{version}")),
                size: 48_213_004,
                format: "parquet".into(),
                schema,
                owner: "data-eng".into(),
                sensitivity,
                source: Source::Internal,
                system: Some(system.into()),
            },
        )
        .await?;
    }
    let models = [
        (
            "credit-scoring",
            "2",
            RiskTier::High,
            Sensitivity::Confidential,
            "risk-team",
            Source::Internal,
            Some("credit-decisioning"),
            vec!["loans@2025-q3"],
        ),
        (
            "credit-scoring",
            "3",
            RiskTier::High,
            Sensitivity::Confidential,
            "risk-team",
            Source::Internal,
            Some("credit-decisioning"),
            vec!["loans@2025-q3"],
        ),
        (
            "support-llm",
            "1.0",
            RiskTier::Limited,
            Sensitivity::Restricted,
            "ml-platform",
            Source::Vendor("acme-ai".into()),
            Some("support-assistant"),
            vec!["support-tickets@3"],
        ),
        (
            "churn-xgb",
            "0.9",
            RiskTier::Minimal,
            Sensitivity::Internal,
            "growth",
            Source::Internal,
            None,
            vec![],
        ),
    ];
    for (name, version, tier, sensitivity, owner, source, system, datasets) in models {
        app.register_model(
            &cx,
            RegisterModel {
                name: name.into(),
                version: version.into(),
                artifacts: vec![artifact(&format!("{name}-{version}.onnx"))],
                datasets: datasets.into_iter().map(str::to_owned).collect(),
                owner: owner.into(),
                tier,
                sensitivity,
                source,
                system: system.map(str::to_owned),
            },
        )
        .await?;
    }
    app.set_alias(&cx, "credit-scoring", "production", "2")
        .await?;
    app.set_alias(&cx, "credit-scoring", "production", "3")
        .await?;
    app.set_alias(&cx, "credit-scoring", "staging", "3").await?;
    app.set_alias(&cx, "support-llm", "production", "1.0")
        .await?;
    for (name, model, upstream, owner, system) in [
        (
            "credit-scoring",
            "credit-scoring",
            "http://127.0.0.1:9001",
            "risk-team",
            "credit-decisioning",
        ),
        (
            "support-chat",
            "support-llm",
            "http://127.0.0.1:9002",
            "ml-platform",
            "support-assistant",
        ),
    ] {
        app.add_endpoint(
            &cx,
            NewEndpoint {
                name: name.into(),
                model: model.into(),
                target: "production".into(),
                upstream: upstream.into(),
                owner: owner.into(),
                system: Some(system.into()),
            },
        )
        .await?;
    }
    app.add_evidence(
        &cx,
        NewEvidence {
            subject_kind: "model".into(),
            name: "credit-scoring".into(),
            version: "3".into(),
            kind: EvidenceKind::Scan,
            verdict: Verdict::Pass,
            summary: "no unsafe code paths in 1 artifact".into(),
            report: serde_json::json!({ "findings": [] }),
        },
    )
    .await?;
    app.review(
        &cx,
        "model",
        "credit-scoring@3",
        "Quarterly fairness and performance review passed.",
    )
    .await?;
    // The older credit model's review lapsed: its due date is in the past.
    app.demo_backdate_review("credit-scoring", "2", 12).await?;
    Ok(true)
}

impl App {
    /// Moves a model version's review due date into the past (demo data only).
    async fn demo_backdate_review(
        &self,
        name: &str,
        version: &str,
        days_overdue: u64,
    ) -> Result<()> {
        let cx = Ctx::system();
        let due = moat_domain::now() - Duration::from_secs(days_overdue * 86_400);
        let mut tx = self.store.begin().await?;
        moat_store::set_model_review_due(&mut tx, name, version, due).await?;
        let mut rec = crate::service::Record::new(
            Permission::ModelClassify,
            "model-version",
            format!("{name}@{version}"),
        )
        .after(Some(
            &serde_json::json!({ "review_due": moat_domain::format_time(due) }),
        ));
        rec.action = "demo.backdate-review".into();
        self.commit(tx, &cx, vec![rec]).await?;
        Ok(())
    }
}
