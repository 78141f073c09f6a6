//! The gateway's view of the key system: a presented key is checked by the service
//! layer (hash lookup, constant-time comparison, expiry and revocation), and its role and
//! endpoint scope become the gateway's `Grant`.

use moat_domain::{AuthMethod, Permission};
use moat_gateway::keys::ResolveFuture;
use moat_gateway::{Grant, KeyResolver};
use moat_server::{App, ServiceError};

pub(crate) struct AppKeys(pub App);

impl KeyResolver for AppKeys {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a> {
        Box::pin(async move {
            match self.0.authenticate(token, AuthMethod::ApiKey).await {
                Ok(p) => Ok(Some(Grant {
                    key_id: p.key_id.unwrap_or_default(),
                    may_invoke: p.role.allows(Permission::GatewayInvoke),
                    endpoints: p.endpoints,
                    expires: p.key_expires.map(std::time::SystemTime::from),
                })),
                Err(ServiceError::Unauthenticated) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// The quarantines of the inventory and the versions its endpoints serve, for the
/// gateway's kill switch and rollback.
pub(crate) struct AppQuarantines(pub App);

impl moat_gateway::kill::QuarantineSource for AppQuarantines {
    fn quarantined(&self) -> moat_gateway::kill::QuarantineFuture<'_> {
        Box::pin(async move {
            self.0
                .quarantined()
                .await
                .map(|l| {
                    l.into_iter()
                        .map(|q| format!("{}@{}", q.model, q.version))
                        .collect()
                })
                .map_err(|e| e.to_string())
        })
    }

    fn keys_marker(&self) -> moat_gateway::kill::MarkerFuture<'_> {
        Box::pin(async move { self.0.keys_marker().await.map_err(|e| e.to_string()) })
    }

    fn serving(&self) -> moat_gateway::kill::ServingFuture<'_> {
        Box::pin(async move {
            self.0
                .served_versions()
                .await
                .map(|l| {
                    l.into_iter()
                        .map(|s| (s.endpoint, s.model, s.version))
                        .collect()
                })
                .map_err(|e| e.to_string())
        })
    }
}

/// The demo's gateway endpoints: the seeded `credit-scoring` and `support-chat`
/// endpoints, served by the demo model servers at `upstream`; the scoring endpoint's
/// tabular detectors compare traffic with the profile at `profile`.
pub(crate) fn demo_endpoints(
    upstream: &str,
    profile: &std::path::Path,
) -> anyhow::Result<Vec<moat_gateway::config::Endpoint>> {
    let profile = profile.display().to_string().replace('\\', "/");
    let text = format!(
        r#"
        [[endpoints]]
        name = "credit-scoring"
        kind = "tabular"
        model = "credit-scoring@3"
        upstream = "{upstream}"
        rate_limit = {{ rate = 5, burst = 10 }}
        profile = "{profile}"
        drift_window = 200
        output_baseline = 100
        output_window = 50
        detectors = {{ pii = "alert", tabular-anomaly = "alert", tabular-drift = "alert", extraction = "alert", output-watch = "alert" }}

        [[endpoints]]
        name = "support-chat"
        kind = "openai"
        model = "support-llm@1.0"
        upstream = "{upstream}/v1"
        rate_limit = {{ rate = 5, burst = 10 }}
        detectors = {{ prompt-injection = "block", pii = "alert" }}
        "#
    );
    let settings: moat_gateway::GatewaySettings = toml::from_str(&text)?;
    settings
        .validate()
        .map(|c| c.endpoints)
        .map_err(|p| anyhow::anyhow!("the demo gateway settings are invalid: {}", p.join("; ")))
}

/// The demo client's key: kept in the data directory (0600) and reused while it works,
/// else created (a service key for the two demo endpoints).
pub(crate) async fn demo_key(env: &crate::context::Env, app: &App) -> anyhow::Result<String> {
    let path = env.data_dir().join("demo-gateway.key");
    if let Ok(k) = std::fs::read_to_string(&path) {
        let k = k.trim().to_owned();
        if app.authenticate(&k, AuthMethod::ApiKey).await.is_ok() {
            return Ok(k);
        }
    }
    let created = app
        .create_key(
            &moat_server::Ctx::system(),
            moat_server::NewKeyRequest {
                name: "demo-client".into(),
                role: moat_domain::Role::Service,
                endpoints: vec!["credit-scoring".into(), "support-chat".into()],
                expires_in_secs: None,
            },
        )
        .await?;
    crate::context::write_private(&path, &created.key)?;
    Ok(created.key.clone())
}

/// The gateway's detections, stored as events.
pub(crate) struct AppEvents(pub App);

impl moat_gateway::events::EventSink for AppEvents {
    fn write(
        &self,
        batch: Vec<moat_gateway::events::Event>,
    ) -> moat_gateway::events::SinkFuture<'_> {
        Box::pin(async move {
            let rows = batch
                .into_iter()
                .map(|e| moat_domain::DetectionEvent {
                    id: moat_server::new_id("evt"),
                    at: moat_domain::format_time(time::OffsetDateTime::from(e.at)),
                    endpoint: e.endpoint,
                    key_id: e.key_id,
                    detector: e.detector,
                    severity: e.severity,
                    atlas: e.atlas,
                    mode: e.mode,
                    evidence: e.evidence,
                })
                .collect();
            self.0
                .record_detections(rows)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The gateway's request records, stored.
pub(crate) struct AppTraffic(pub App);

impl moat_gateway::traffic::RecordSink for AppTraffic {
    fn write<'a>(
        &'a self,
        batch: &'a [moat_gateway::traffic::Record],
    ) -> moat_gateway::events::SinkFuture<'a> {
        Box::pin(async move {
            let rows = batch
                .iter()
                .zip(moat_server::new_ids("req", batch.len()))
                .map(|(r, id)| moat_domain::TrafficRecord {
                    id,
                    at: moat_domain::format_time(time::OffsetDateTime::from(r.at)),
                    endpoint: r.endpoint.clone(),
                    key_id: r.key_id.clone(),
                    method: r.method.clone(),
                    path: r.path.clone(),
                    status: r.status,
                    code: r.code.map(str::to_owned),
                    latency_us: u64::try_from(r.latency.as_micros()).unwrap_or(u64::MAX),
                    request_bytes: r.request_bytes,
                    verdicts: r.verdicts.clone(),
                    body: r.body.clone(),
                })
                .collect();
            self.0.record_traffic(rows).await.map_err(|e| e.to_string())
        })
    }
}

/// The retention job: request records older than `days` days are deleted at start and
/// every hour after.
pub(crate) async fn retention(app: App, days: u32) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match app.prune_traffic(days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, days, "request records past retention deleted"),
            Err(e) => {
                tracing::warn!(error = %e, "request records past retention could not be deleted")
            }
        }
    }
}
