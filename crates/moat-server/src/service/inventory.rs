//! Inventory and governance operations: registration of model and dataset versions
//! with lineage, classification, reviews and review cycles, aliases (with the
//! protected `production` alias), endpoints, AI systems, vendors, evidence and the
//! inventory table.

use moat_domain::{
    AiSystem, AliasMove, Artifact, AssetRef, Dataset, Endpoint, Evidence, InventoryRow,
    LineageEdge, ModelVersion, NewEvidence, Permission, Review, RiskTier, Sensitivity, Source,
    Timestamp, Vendor, VendorQuestionnaire, PROTECTED_ALIASES,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

use super::{guarded, App, Ctx, Record};
use crate::error::{Result, ServiceError};
use crate::secret;

/// A model version to register. Artifact digests are computed by the caller (the
/// command line streams each file through SHA-256).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterModel {
    pub name: String,
    pub version: String,
    pub artifacts: Vec<Artifact>,
    /// Dataset versions it was trained on, as `NAME@VERSION`.
    #[serde(default)]
    pub datasets: Vec<String>,
    pub owner: String,
    pub tier: RiskTier,
    pub sensitivity: Sensitivity,
    /// `internal`, `hub:URL` or `vendor:NAME`.
    #[serde(default = "internal")]
    #[schema(value_type = String)]
    pub source: Source,
    /// The AI system (use case) it belongs to.
    #[serde(default)]
    pub system: Option<String>,
}

fn internal() -> Source {
    Source::Internal
}

/// A dataset version to register.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDataset {
    pub name: String,
    pub version: String,
    pub path: String,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    pub size: u64,
    /// `csv`, `parquet`, `jsonl` or `other`.
    pub format: String,
    /// Columns and types.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
    pub owner: String,
    pub sensitivity: Sensitivity,
    #[serde(default = "internal")]
    #[schema(value_type = String)]
    pub source: Source,
    #[serde(default)]
    pub system: Option<String>,
}

/// New classification of a model version; unset fields keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Classify {
    pub tier: Option<RiskTier>,
    pub sensitivity: Option<Sensitivity>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorInput {
    pub name: String,
    pub source: String,
    pub licence: String,
    #[serde(default = "not_sent")]
    pub questionnaire: VendorQuestionnaire,
    /// When the vendor was last reviewed (RFC 3339).
    #[serde(default)]
    pub last_review: Option<String>,
    #[serde(default)]
    pub notes: String,
}

fn not_sent() -> VendorQuestionnaire {
    VendorQuestionnaire::NotSent
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub name: String,
    pub model: String,
    /// An alias such as `production`, or a version.
    pub target: String,
    pub upstream: String,
    pub owner: String,
    #[serde(default)]
    pub system: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSystem {
    pub name: String,
    /// The accountable owner.
    pub owner: String,
    #[serde(default)]
    pub description: String,
}

/// A model version with everything known about it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelDetail {
    #[serde(flatten)]
    pub version: ModelVersion,
    /// Aliases pointing at this version.
    pub aliases: Vec<String>,
    pub overdue: bool,
    pub lineage: Vec<LineageEdge>,
    pub reviews: Vec<Review>,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatasetDetail {
    #[serde(flatten)]
    pub dataset: Dataset,
    pub overdue: bool,
    /// Model versions built from it.
    pub used_by: Vec<LineageEdge>,
    pub reviews: Vec<Review>,
    pub evidence: Vec<Evidence>,
}

/// Lineage of a model version: dataset versions -> model version -> endpoints.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineageView {
    pub model: String,
    pub version: String,
    pub digest: String,
    pub datasets: Vec<LineageDataset>,
    /// Endpoints that serve this version now (directly or through an alias).
    pub endpoints: Vec<Endpoint>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineageDataset {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub how: String,
    pub recorded_by: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: Timestamp,
}

/// An AI system with its members and derived tier.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AiSystemView {
    #[serde(flatten)]
    pub system: AiSystem,
    /// The tier of its riskiest model version (`None` while it has none).
    pub tier: Option<RiskTier>,
    pub models: Vec<String>,
    pub datasets: Vec<String>,
    pub endpoints: Vec<String>,
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn due(from: Timestamp, days: u32) -> Timestamp {
    from + Duration::from_secs(u64::from(days) * 86_400)
}

fn parse_ref(s: &str) -> Result<AssetRef> {
    Ok(s.parse::<AssetRef>()?)
}

fn is_hex_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl App {
    fn cycle(&self, tier: RiskTier) -> u32 {
        self.config.review_cycles.days(tier)
    }

    async fn check_system(&self, c: &mut moat_store::Conn, system: &Option<String>) -> Result<()> {
        if let Some(s) = system {
            if moat_store::get_system(c, s).await?.is_none() {
                return Err(ServiceError::NotFound(format!(
                    "AI system `{s}` not found; create it with `moat system add {s} --owner TEAM`"
                )));
            }
        }
        Ok(())
    }

    pub async fn register_model(&self, cx: &Ctx, req: RegisterModel) -> Result<ModelVersion> {
        let id = format!("{}@{}", req.name, req.version);
        guarded!(
            self,
            cx,
            Permission::ModelRegister,
            "model-version",
            id.clone(),
            async {
                AssetRef::new(&req.name, &req.version)?;
                moat_domain::validate_name("owner", &req.owner)?;
                if req.artifacts.is_empty() {
                    return Err(ServiceError::Invalid(
                        "a model version needs at least one artifact (--artifact PATH)".into(),
                    ));
                }
                for a in &req.artifacts {
                    if !is_hex_digest(&a.sha256) {
                        return Err(ServiceError::Invalid(format!(
                        "artifact `{}` has an invalid sha256 `{}`: expected 64 lowercase hex digits",
                        a.path, a.sha256
                    )));
                    }
                }
                let datasets = req
                    .datasets
                    .iter()
                    .map(|d| parse_ref(d))
                    .collect::<Result<Vec<_>>>()?;
                let now = moat_domain::now();
                let mut tx = self.store.begin().await?;
                self.check_system(&mut tx, &req.system).await?;
                if let Source::Vendor(v) = &req.source {
                    if moat_store::get_vendor(&mut tx, v).await?.is_none() {
                        return Err(ServiceError::NotFound(format!(
                        "vendor `{v}` not found; add it with `moat vendor add {v} --source … --licence …`"
                    )));
                    }
                }
                let mut found = Vec::new();
                for d in &datasets {
                    let ds = moat_store::get_dataset(&mut tx, &d.name, &d.version).await?.ok_or_else(|| {
                    ServiceError::NotFound(format!(
                        "dataset version `{d}` not found; register it with `moat dataset register` first"
                    ))
                })?;
                    found.push(ds);
                }
                let mv = ModelVersion {
                    digest: format!(
                        "sha256:{}",
                        sha256_hex(ModelVersion::manifest(&req.artifacts).as_bytes())
                    ),
                    name: req.name.clone(),
                    version: req.version.clone(),
                    artifacts: req.artifacts.clone(),
                    owner: req.owner.clone(),
                    tier: req.tier,
                    sensitivity: req.sensitivity,
                    source: req.source.clone(),
                    ai_system: req.system.clone(),
                    registered_by: cx.principal.id.clone(),
                    registered_at: now,
                    last_review_at: None,
                    review_due: due(now, self.cycle(req.tier)),
                };
                moat_store::ensure_team(&mut tx, &req.owner, now).await?;
                moat_store::insert_model_version(&mut tx, &mv).await?;
                let mut log = self.appender(&mut tx).await?;
                let rec = Record::new(Permission::ModelRegister, "model-version", &id)
                    .digest(&mv.digest)
                    .after(Some(&mv));
                self.append(&mut log, cx, rec).await?;
                for ds in found {
                    let edge = LineageEdge {
                        dataset: ds.name.clone(),
                        dataset_version: ds.version.clone(),
                        model: mv.name.clone(),
                        model_version: mv.version.clone(),
                        how: "training".into(),
                        recorded_by: cx.principal.id.clone(),
                        recorded_at: now,
                    };
                    moat_store::insert_lineage(&mut tx, &edge).await?;
                    // A dataset is reviewed on the cycle of the riskiest model built from it.
                    let base = ds.last_review_at.unwrap_or(ds.registered_at);
                    let new_due = due(base, self.cycle(mv.tier));
                    if new_due < ds.review_due {
                        moat_store::set_dataset_review_due(&mut tx, &ds.name, &ds.version, new_due)
                            .await?;
                    }
                    let rec = Record::new(
                        Permission::ModelRegister,
                        "lineage",
                        format!("{}@{}->{id}", ds.name, ds.version),
                    )
                    .digest(&ds.digest)
                    .after(Some(&edge));
                    let mut rec = rec;
                    rec.action = "lineage.record".into();
                    self.append(&mut log, cx, rec).await?;
                }
                self.seal(&mut tx, log).await?;
                tx.commit().await.map_err(moat_store::Error::from)?;
                Ok(mv)
            }
        )
    }

    pub async fn list_models(&self, cx: &Ctx, name: Option<&str>) -> Result<Vec<ModelVersion>> {
        self.authorize(
            cx,
            Permission::ModelRead,
            "model-version",
            name.unwrap_or("*"),
        )
        .await?;
        let mut c = self.store.conn().await?;
        Ok(moat_store::list_model_versions(&mut c, name).await?)
    }

    pub(crate) async fn model_version(
        &self,
        c: &mut moat_store::Conn,
        r: &AssetRef,
    ) -> Result<ModelVersion> {
        moat_store::get_model_version(c, &r.name, &r.version)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "model version `{r}` not found; `moat model list` shows what is registered"
                ))
            })
    }

    async fn dataset(&self, c: &mut moat_store::Conn, r: &AssetRef) -> Result<Dataset> {
        moat_store::get_dataset(c, &r.name, &r.version)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "dataset version `{r}` not found; `moat dataset list` shows what is registered"
                ))
            })
    }

    pub async fn show_model(&self, cx: &Ctx, r: &str) -> Result<ModelDetail> {
        let r = parse_ref(r)?;
        self.authorize(cx, Permission::ModelRead, "model-version", &r.to_string())
            .await?;
        let mut c = self.store.conn().await?;
        let version = self.model_version(&mut c, &r).await?;
        let aliases = moat_store::list_aliases(&mut c)
            .await?
            .into_iter()
            .filter(|(m, _, v)| *m == r.name && *v == r.version)
            .map(|(_, a, _)| a)
            .collect();
        Ok(ModelDetail {
            overdue: version.review_due < moat_domain::now(),
            aliases,
            lineage: moat_store::lineage_of_model(&mut c, &r.name, &r.version).await?,
            reviews: moat_store::list_reviews(&mut c, "model", &r.name, &r.version).await?,
            evidence: moat_store::list_evidence(&mut c, "model", &r.name, &r.version).await?,
            version,
        })
    }

    pub async fn classify_model(&self, cx: &Ctx, r: &str, req: Classify) -> Result<ModelVersion> {
        let r = parse_ref(r)?;
        guarded!(
            self,
            cx,
            Permission::ModelClassify,
            "model-version",
            r.to_string(),
            async {
                if req.tier.is_none() && req.sensitivity.is_none() {
                    return Err(ServiceError::Invalid(
                        "nothing to change: pass --tier and/or --sensitivity".into(),
                    ));
                }
                let mut tx = self.store.begin().await?;
                let before = self.model_version(&mut tx, &r).await?;
                let tier = req.tier.unwrap_or(before.tier);
                if tier == RiskTier::Unacceptable {
                    for alias in PROTECTED_ALIASES {
                        if moat_store::get_alias(&mut tx, &r.name, alias)
                            .await?
                            .as_deref()
                            == Some(r.version.as_str())
                        {
                            return Err(ServiceError::Invalid(format!(
                            "`{r}` is the `{alias}` version; an unacceptable-risk model cannot serve {alias}: move the alias first"
                        )));
                        }
                    }
                }
                let sensitivity = req.sensitivity.unwrap_or(before.sensitivity);
                let base = before.last_review_at.unwrap_or(before.registered_at);
                let review_due = due(base, self.cycle(tier));
                moat_store::classify_model_version(
                    &mut tx,
                    &r.name,
                    &r.version,
                    tier,
                    sensitivity,
                    review_due,
                )
                .await?;
                let after = self.model_version(&mut tx, &r).await?;
                let rec = Record::new(Permission::ModelClassify, "model-version", r.to_string())
                    .digest(&after.digest)
                    .before(Some(&before))
                    .after(Some(&after));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(after)
            }
        )
    }

    /// Records a review of a model or dataset version and moves its next due date.
    pub async fn review(&self, cx: &Ctx, kind: &str, r: &str, notes: &str) -> Result<Review> {
        let r = parse_ref(r)?;
        let (perm, res_kind) = if kind == "dataset" {
            (Permission::DatasetReview, "dataset-version")
        } else {
            (Permission::ModelReview, "model-version")
        };
        guarded!(self, cx, perm, res_kind, r.to_string(), async {
            if notes.trim().is_empty() {
                return Err(ServiceError::Invalid(
                    "a review needs notes (--notes \"…\")".into(),
                ));
            }
            let now = moat_domain::now();
            let mut tx = self.store.begin().await?;
            let (digest, tier) = if kind == "dataset" {
                let d = self.dataset(&mut tx, &r).await?;
                let edges = moat_store::list_lineage(&mut tx).await?;
                let mut tier = RiskTier::Minimal;
                for e in edges
                    .iter()
                    .filter(|e| e.dataset == r.name && e.dataset_version == r.version)
                {
                    if let Some(m) =
                        moat_store::get_model_version(&mut tx, &e.model, &e.model_version).await?
                    {
                        tier = tier.max(m.tier);
                    }
                }
                (d.digest, tier)
            } else {
                let m = self.model_version(&mut tx, &r).await?;
                (m.digest, m.tier)
            };
            let review = Review {
                id: secret::new_id("rev"),
                subject_kind: kind.to_owned(),
                name: r.name.clone(),
                version: r.version.clone(),
                reviewer: cx.principal.id.clone(),
                notes: notes.to_owned(),
                reviewed_at: now,
                next_due: due(now, self.cycle(tier)),
            };
            moat_store::insert_review(&mut tx, &review).await?;
            let mut rec = Record::new(perm, res_kind, r.to_string())
                .digest(digest)
                .after(Some(&review))
                .details(serde_json::json!({ "notes": notes }));
            rec.action = format!("{kind}.review");
            self.commit(tx, cx, vec![rec]).await?;
            Ok(review)
        })
    }

    /// Points `alias` of `model` at `version`. Moving a protected alias (`production`)
    /// needs `model.promote`, refuses unacceptable-risk versions, and records where it
    /// came from so rollback has a version to return to.
    pub async fn set_alias(
        &self,
        cx: &Ctx,
        model: &str,
        alias: &str,
        version: &str,
    ) -> Result<AliasMove> {
        let protected = PROTECTED_ALIASES.contains(&alias);
        let perm = if protected {
            Permission::ModelPromote
        } else {
            Permission::ModelAlias
        };
        let id = format!("{model}:{alias}");
        guarded!(self, cx, perm, "alias", id.clone(), async {
            moat_domain::validate_name("alias", alias)?;
            let r = AssetRef::new(model, version)?;
            let mut tx = self.store.begin().await?;
            let mv = self.model_version(&mut tx, &r).await?;
            if protected && mv.tier == RiskTier::Unacceptable {
                return Err(ServiceError::Invalid(format!(
                    "`{r}` is classified unacceptable-risk and cannot be registered for {alias}"
                )));
            }
            let from = moat_store::get_alias(&mut tx, model, alias).await?;
            if from.as_deref() == Some(version) {
                return Err(ServiceError::Conflict(format!(
                    "`{alias}` of `{model}` already points at {version}"
                )));
            }
            let mv_move = AliasMove {
                model: model.to_owned(),
                alias: alias.to_owned(),
                from_version: from.clone(),
                to_version: version.to_owned(),
                moved_by: cx.principal.id.clone(),
                moved_at: moat_domain::now(),
            };
            moat_store::move_alias(&mut tx, &mv_move).await?;
            let mut rec = Record::new(perm, "alias", &id)
                .digest(&mv.digest)
                .before(from.as_ref())
                .after(Some(&mv_move));
            rec.action = if protected {
                "model.promote".into()
            } else {
                "model.alias".into()
            };
            self.commit(tx, cx, vec![rec]).await?;
            Ok(mv_move)
        })
    }

    pub async fn alias_history(
        &self,
        cx: &Ctx,
        model: &str,
        alias: &str,
    ) -> Result<Vec<AliasMove>> {
        self.authorize(
            cx,
            Permission::ModelRead,
            "alias",
            &format!("{model}:{alias}"),
        )
        .await?;
        let mut c = self.store.conn().await?;
        Ok(moat_store::alias_history(&mut c, model, alias).await?)
    }

    pub async fn register_dataset(&self, cx: &Ctx, req: RegisterDataset) -> Result<Dataset> {
        let id = format!("{}@{}", req.name, req.version);
        guarded!(
            self,
            cx,
            Permission::DatasetRegister,
            "dataset-version",
            id.clone(),
            async {
                AssetRef::new(&req.name, &req.version)?;
                moat_domain::validate_name("owner", &req.owner)?;
                if !req
                    .digest
                    .strip_prefix("sha256:")
                    .is_some_and(is_hex_digest)
                {
                    return Err(ServiceError::Invalid(format!(
                        "invalid digest `{}`: expected sha256:<64 lowercase hex digits>",
                        req.digest
                    )));
                }
                let now = moat_domain::now();
                let mut tx = self.store.begin().await?;
                self.check_system(&mut tx, &req.system).await?;
                let d = Dataset {
                    name: req.name.clone(),
                    version: req.version.clone(),
                    path: req.path.clone(),
                    digest: req.digest.clone(),
                    size: req.size,
                    format: req.format.clone(),
                    schema: req.schema.clone(),
                    owner: req.owner.clone(),
                    sensitivity: req.sensitivity,
                    source: req.source.clone(),
                    ai_system: req.system.clone(),
                    registered_by: cx.principal.id.clone(),
                    registered_at: now,
                    last_review_at: None,
                    review_due: due(now, self.cycle(RiskTier::Minimal)),
                };
                moat_store::ensure_team(&mut tx, &req.owner, now).await?;
                moat_store::insert_dataset(&mut tx, &d).await?;
                let rec = Record::new(Permission::DatasetRegister, "dataset-version", &id)
                    .digest(&d.digest)
                    .after(Some(&d));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(d)
            }
        )
    }

    pub async fn list_datasets(&self, cx: &Ctx, name: Option<&str>) -> Result<Vec<Dataset>> {
        self.authorize(
            cx,
            Permission::DatasetRead,
            "dataset-version",
            name.unwrap_or("*"),
        )
        .await?;
        let mut c = self.store.conn().await?;
        Ok(moat_store::list_datasets(&mut c, name).await?)
    }

    pub async fn show_dataset(&self, cx: &Ctx, r: &str) -> Result<DatasetDetail> {
        let r = parse_ref(r)?;
        self.authorize(
            cx,
            Permission::DatasetRead,
            "dataset-version",
            &r.to_string(),
        )
        .await?;
        let mut c = self.store.conn().await?;
        let dataset = self.dataset(&mut c, &r).await?;
        let used_by = moat_store::list_lineage(&mut c)
            .await?
            .into_iter()
            .filter(|e| e.dataset == r.name && e.dataset_version == r.version)
            .collect();
        Ok(DatasetDetail {
            overdue: dataset.review_due < moat_domain::now(),
            used_by,
            reviews: moat_store::list_reviews(&mut c, "dataset", &r.name, &r.version).await?,
            evidence: moat_store::list_evidence(&mut c, "dataset", &r.name, &r.version).await?,
            dataset,
        })
    }

    pub async fn lineage(&self, cx: &Ctx, r: &str) -> Result<LineageView> {
        let r = parse_ref(r)?;
        self.authorize(cx, Permission::ModelRead, "model-version", &r.to_string())
            .await?;
        let mut c = self.store.conn().await?;
        let mv = self.model_version(&mut c, &r).await?;
        let mut datasets = Vec::new();
        for e in moat_store::lineage_of_model(&mut c, &r.name, &r.version).await? {
            let digest = moat_store::get_dataset(&mut c, &e.dataset, &e.dataset_version)
                .await?
                .map(|d| d.digest)
                .unwrap_or_default();
            datasets.push(LineageDataset {
                name: e.dataset,
                version: e.dataset_version,
                digest,
                how: e.how,
                recorded_by: e.recorded_by,
                recorded_at: e.recorded_at,
            });
        }
        let aliases: Vec<String> = moat_store::list_aliases(&mut c)
            .await?
            .into_iter()
            .filter(|(m, _, v)| *m == r.name && *v == r.version)
            .map(|(_, a, _)| a)
            .collect();
        let endpoints = moat_store::list_endpoints(&mut c)
            .await?
            .into_iter()
            .filter(|e| e.model == r.name && (e.target == r.version || aliases.contains(&e.target)))
            .collect();
        Ok(LineageView {
            model: mv.name,
            version: mv.version,
            digest: mv.digest,
            datasets,
            endpoints,
            aliases,
        })
    }

    pub async fn add_vendor(&self, cx: &Ctx, req: VendorInput, update: bool) -> Result<Vendor> {
        guarded!(
            self,
            cx,
            Permission::VendorWrite,
            "vendor",
            req.name.clone(),
            async {
                moat_domain::validate_name("vendor", &req.name)?;
                if req.licence.trim().is_empty() || req.source.trim().is_empty() {
                    return Err(ServiceError::Invalid(
                        "a vendor needs --source and --licence".into(),
                    ));
                }
                let last_review_at = req
                    .last_review
                    .as_deref()
                    .map(moat_domain::parse_time)
                    .transpose()?;
                let mut tx = self.store.begin().await?;
                let before = moat_store::get_vendor(&mut tx, &req.name).await?;
                if before.is_some() && !update {
                    return Err(ServiceError::Conflict(format!(
                        "vendor `{}` already exists; pass --update to change it",
                        req.name
                    )));
                }
                let v = Vendor {
                    name: req.name.clone(),
                    source: req.source.clone(),
                    licence: req.licence.clone(),
                    questionnaire: req.questionnaire,
                    last_review_at,
                    notes: req.notes.clone(),
                    created_by: before
                        .as_ref()
                        .map_or(cx.principal.id.clone(), |b| b.created_by.clone()),
                    created_at: before.as_ref().map_or(moat_domain::now(), |b| b.created_at),
                };
                moat_store::upsert_vendor(&mut tx, &v, before.is_some()).await?;
                let rec = Record::new(Permission::VendorWrite, "vendor", &req.name)
                    .before(before.as_ref())
                    .after(Some(&v));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(v)
            }
        )
    }

    pub async fn list_vendors(&self, cx: &Ctx) -> Result<Vec<Vendor>> {
        self.authorize(cx, Permission::VendorRead, "vendor", "*")
            .await?;
        let mut c = self.store.conn().await?;
        Ok(moat_store::list_vendors(&mut c).await?)
    }

    pub async fn add_system(&self, cx: &Ctx, req: NewSystem) -> Result<AiSystem> {
        guarded!(
            self,
            cx,
            Permission::SystemWrite,
            "ai-system",
            req.name.clone(),
            async {
                moat_domain::validate_name("AI system", &req.name)?;
                moat_domain::validate_name("owner", &req.owner)?;
                let now = moat_domain::now();
                let s = AiSystem {
                    name: req.name.clone(),
                    owner: req.owner.clone(),
                    description: req.description.clone(),
                    created_by: cx.principal.id.clone(),
                    created_at: now,
                };
                let mut tx = self.store.begin().await?;
                moat_store::ensure_team(&mut tx, &req.owner, now).await?;
                moat_store::insert_system(&mut tx, &s).await?;
                let rec =
                    Record::new(Permission::SystemWrite, "ai-system", &req.name).after(Some(&s));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(s)
            }
        )
    }

    /// Adds a member to an AI system: `model` (`NAME` or `NAME@VERSION`), `dataset`
    /// (the same) or `endpoint` (`NAME`).
    pub async fn assign_system(
        &self,
        cx: &Ctx,
        system: &str,
        kind: &str,
        member: &str,
    ) -> Result<()> {
        guarded!(
            self,
            cx,
            Permission::SystemWrite,
            "ai-system",
            system.to_owned(),
            async {
                if !matches!(kind, "model" | "dataset" | "endpoint") {
                    return Err(ServiceError::Invalid(format!(
                        "unknown member kind `{kind}`; known: `model`, `dataset`, `endpoint`"
                    )));
                }
                let (name, version) = match member.split_once('@') {
                    Some((n, v)) if kind != "endpoint" => (n, Some(v)),
                    _ => (member, None),
                };
                let mut tx = self.store.begin().await?;
                self.check_system(&mut tx, &Some(system.to_owned())).await?;
                let n = moat_store::assign_system(&mut tx, kind, name, version, system).await?;
                if n == 0 {
                    return Err(ServiceError::NotFound(format!(
                        "{kind} `{member}` not found"
                    )));
                }
                let mut rec = Record::new(Permission::SystemWrite, "ai-system", system)
                    .after(Some(&serde_json::json!({ "kind": kind, "member": member })));
                rec.action = "system.assign".into();
                self.commit(tx, cx, vec![rec]).await?;
                Ok(())
            }
        )
    }

    pub async fn list_systems(&self, cx: &Ctx) -> Result<Vec<AiSystemView>> {
        self.authorize(cx, Permission::InventoryRead, "ai-system", "*")
            .await?;
        let mut c = self.store.conn().await?;
        let models = moat_store::list_model_versions(&mut c, None).await?;
        let datasets = moat_store::list_datasets(&mut c, None).await?;
        let endpoints = moat_store::list_endpoints(&mut c).await?;
        let systems = moat_store::list_systems(&mut c).await?;
        Ok(systems
            .into_iter()
            .map(|s| {
                let mine = |x: &Option<String>| x.as_deref() == Some(s.name.as_str());
                let ms: Vec<&ModelVersion> = models.iter().filter(|m| mine(&m.ai_system)).collect();
                // Endpoints count through the model versions they serve.
                let eps: Vec<&Endpoint> = endpoints.iter().filter(|e| mine(&e.ai_system)).collect();
                let ep_tiers = eps
                    .iter()
                    .flat_map(|e| models.iter().filter(move |m| m.name == e.model))
                    .map(|m| m.tier);
                AiSystemView {
                    tier: ms.iter().map(|m| m.tier).chain(ep_tiers).max(),
                    models: ms
                        .iter()
                        .map(|m| format!("{}@{}", m.name, m.version))
                        .collect(),
                    datasets: datasets
                        .iter()
                        .filter(|d| mine(&d.ai_system))
                        .map(|d| format!("{}@{}", d.name, d.version))
                        .collect(),
                    endpoints: eps.iter().map(|e| e.name.clone()).collect(),
                    system: s,
                }
            })
            .collect())
    }

    pub async fn add_endpoint(&self, cx: &Ctx, req: NewEndpoint) -> Result<Endpoint> {
        guarded!(
            self,
            cx,
            Permission::EndpointWrite,
            "endpoint",
            req.name.clone(),
            async {
                moat_domain::validate_name("endpoint", &req.name)?;
                moat_domain::validate_name("owner", &req.owner)?;
                if !(req.upstream.starts_with("http://") || req.upstream.starts_with("https://")) {
                    return Err(ServiceError::Invalid(format!(
                        "invalid upstream `{}`: expected an http:// or https:// URL",
                        req.upstream
                    )));
                }
                let mut tx = self.store.begin().await?;
                self.check_system(&mut tx, &req.system).await?;
                if !moat_store::model_exists(&mut tx, &req.model).await? {
                    return Err(ServiceError::NotFound(format!(
                        "model `{}` not found",
                        req.model
                    )));
                }
                // The target is an alias or a version of the model.
                let version = match moat_store::get_alias(&mut tx, &req.model, &req.target).await? {
                    Some(v) => Some(v),
                    None => moat_store::get_model_version(&mut tx, &req.model, &req.target)
                        .await?
                        .map(|m| m.version),
                };
                if version.is_none()
                    && !PROTECTED_ALIASES.contains(&req.target.as_str())
                    && req.target != "staging"
                {
                    return Err(ServiceError::NotFound(format!(
                        "`{}` is neither an alias nor a version of model `{}`",
                        req.target, req.model
                    )));
                }
                if let Some(v) = &version {
                    if let Some(m) = moat_store::get_model_version(&mut tx, &req.model, v).await? {
                        if m.tier == RiskTier::Unacceptable {
                            return Err(ServiceError::Invalid(format!(
                                "`{}@{v}` is classified unacceptable-risk and cannot be served",
                                req.model
                            )));
                        }
                    }
                }
                let now = moat_domain::now();
                let e = Endpoint {
                    name: req.name.clone(),
                    model: req.model.clone(),
                    target: req.target.clone(),
                    upstream: req.upstream.clone(),
                    owner: req.owner.clone(),
                    ai_system: req.system.clone(),
                    created_by: cx.principal.id.clone(),
                    created_at: now,
                };
                moat_store::ensure_team(&mut tx, &req.owner, now).await?;
                moat_store::insert_endpoint(&mut tx, &e).await?;
                let rec =
                    Record::new(Permission::EndpointWrite, "endpoint", &req.name).after(Some(&e));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(e)
            }
        )
    }

    pub async fn list_endpoints(&self, cx: &Ctx) -> Result<Vec<Endpoint>> {
        self.authorize(cx, Permission::InventoryRead, "endpoint", "*")
            .await?;
        let mut c = self.store.conn().await?;
        Ok(moat_store::list_endpoints(&mut c).await?)
    }

    /// Attaches the result of a check to a model or dataset version.
    pub async fn add_evidence(&self, cx: &Ctx, req: NewEvidence) -> Result<Evidence> {
        let id_ref = format!("{}@{}", req.name, req.version);
        guarded!(
            self,
            cx,
            Permission::EvidenceWrite,
            "evidence",
            id_ref.clone(),
            async {
                let r = AssetRef::new(&req.name, &req.version)?;
                let mut tx = self.store.begin().await?;
                let subject_digest = match req.subject_kind.as_str() {
                    "model" => self.model_version(&mut tx, &r).await?.digest,
                    "dataset" => self.dataset(&mut tx, &r).await?.digest,
                    other => {
                        return Err(ServiceError::Invalid(format!(
                            "unknown subject kind `{other}`; known: `model`, `dataset`"
                        )))
                    }
                };
                let e = Evidence {
                    id: secret::new_id("evd"),
                    subject_kind: req.subject_kind.clone(),
                    name: req.name.clone(),
                    version: req.version.clone(),
                    kind: req.kind,
                    verdict: req.verdict,
                    summary: req.summary.clone(),
                    report_digest: moat_audit::canonical_digest(&req.report),
                    report: req.report.clone(),
                    recorded_by: cx.principal.id.clone(),
                    recorded_at: moat_domain::now(),
                };
                moat_store::insert_evidence(&mut tx, &e).await?;
                let summary = serde_json::json!({
                    "id": e.id, "kind": e.kind, "verdict": e.verdict, "report_digest": e.report_digest,
                });
                let rec = Record::new(Permission::EvidenceWrite, "evidence", &id_ref)
                    .digest(subject_digest)
                    .after(Some(&summary));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(e)
            }
        )
    }

    pub async fn list_evidence(
        &self,
        cx: &Ctx,
        subject_kind: &str,
        r: &str,
    ) -> Result<Vec<Evidence>> {
        let r = parse_ref(r)?;
        self.authorize(cx, Permission::EvidenceRead, "evidence", &r.to_string())
            .await?;
        let mut c = self.store.conn().await?;
        match subject_kind {
            "model" => {
                self.model_version(&mut c, &r).await?;
            }
            _ => {
                self.dataset(&mut c, &r).await?;
            }
        }
        Ok(moat_store::list_evidence(&mut c, subject_kind, &r.name, &r.version).await?)
    }

    /// Every asset with owner, tier, sensitivity, review due date and overdue flag.
    pub async fn inventory(&self, cx: &Ctx) -> Result<Vec<InventoryRow>> {
        self.authorize(cx, Permission::InventoryRead, "inventory", "*")
            .await?;
        let now = moat_domain::now();
        let mut c = self.store.conn().await?;
        let aliases = moat_store::list_aliases(&mut c).await?;
        let mut rows = Vec::new();
        let systems = {
            drop(c);
            self.list_systems(cx).await?
        };
        let mut c = self.store.conn().await?;
        for s in &systems {
            rows.push(InventoryRow {
                kind: "system".into(),
                asset: s.system.name.clone(),
                owner: s.system.owner.clone(),
                tier: s.tier,
                sensitivity: None,
                ai_system: None,
                aliases: Vec::new(),
                review_due: None,
                overdue: false,
            });
        }
        for m in moat_store::list_model_versions(&mut c, None).await? {
            rows.push(InventoryRow {
                kind: "model".into(),
                asset: format!("{}@{}", m.name, m.version),
                owner: m.owner,
                tier: Some(m.tier),
                sensitivity: Some(m.sensitivity),
                ai_system: m.ai_system,
                aliases: aliases
                    .iter()
                    .filter(|(n, _, v)| *n == m.name && *v == m.version)
                    .map(|(_, a, _)| a.clone())
                    .collect(),
                review_due: Some(m.review_due),
                overdue: m.review_due < now,
            });
        }
        for d in moat_store::list_datasets(&mut c, None).await? {
            rows.push(InventoryRow {
                kind: "dataset".into(),
                asset: format!("{}@{}", d.name, d.version),
                owner: d.owner,
                tier: None,
                sensitivity: Some(d.sensitivity),
                ai_system: d.ai_system,
                aliases: Vec::new(),
                review_due: Some(d.review_due),
                overdue: d.review_due < now,
            });
        }
        for e in moat_store::list_endpoints(&mut c).await? {
            let tier = match moat_store::get_alias(&mut c, &e.model, &e.target).await? {
                Some(v) => moat_store::get_model_version(&mut c, &e.model, &v)
                    .await?
                    .map(|m| m.tier),
                None => moat_store::get_model_version(&mut c, &e.model, &e.target)
                    .await?
                    .map(|m| m.tier),
            };
            rows.push(InventoryRow {
                kind: "endpoint".into(),
                asset: e.name,
                owner: e.owner,
                tier,
                sensitivity: None,
                ai_system: e.ai_system,
                aliases: vec![format!("{}:{}", e.model, e.target)],
                review_due: None,
                overdue: false,
            });
        }
        Ok(rows)
    }
}
