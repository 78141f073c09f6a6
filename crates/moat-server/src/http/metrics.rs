//! Prometheus metrics at `/metrics` (OpenMetrics text): HTTP requests and latencies,
//! and inventory and audit-log gauges read from the store at scrape time.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::AppState;
use crate::service::Ctx;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    assets: Family<KindLabels, Gauge>,
    overdue: Gauge,
    audit_entries: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("moat");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register_with_unit(
            "http_request_duration",
            "Time to serve an HTTP request",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        let assets = Family::<KindLabels, Gauge>::default();
        registry.register(
            "inventory_assets",
            "Assets in the inventory, by kind",
            assets.clone(),
        );
        let overdue = Gauge::default();
        registry.register(
            "inventory_overdue_reviews",
            "Assets whose review is overdue",
            overdue.clone(),
        );
        let audit_entries = Gauge::default();
        registry.register(
            "audit_log_entries",
            "Entries in the audit log",
            audit_entries.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            assets,
            overdue,
            audit_entries,
        }
    }

    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }
}

pub(super) async fn scrape(State(st): State<AppState>) -> impl IntoResponse {
    let m = &st.metrics;
    // A few COUNT queries, not the inventory itself: scrapes come every few seconds.
    let counts = async {
        let mut c = st.app.store().conn().await?;
        moat_store::inventory_counts(&mut c, moat_domain::now()).await
    };
    match counts.await {
        Ok(n) => {
            for (kind, v) in [
                ("model", n.models),
                ("dataset", n.datasets),
                ("endpoint", n.endpoints),
                ("system", n.systems),
            ] {
                m.assets
                    .get_or_create(&KindLabels {
                        kind: kind.to_owned(),
                    })
                    .set(v);
            }
            m.overdue.set(n.overdue);
        }
        Err(e) => tracing::warn!(error = %e, "Could not count the inventory for metrics."),
    }
    if let Ok((size, _)) = st.app.audit_head(&Ctx::system()).await {
        m.audit_entries.set(size as i64);
    }
    let mut out = String::new();
    let encoded = (|| {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        encode_registry(&mut out, &m.registry)?;
        for extra in &st.options.extra_metrics {
            encode_registry(&mut out, extra)?;
        }
        encode_eof(&mut out)
    })();
    if let Err(e) = encoded {
        tracing::error!(error = %e, "Could not encode metrics.");
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
}
