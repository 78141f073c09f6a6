//! The gateway's Prometheus metrics, served with the API's at `/metrics`: requests by
//! endpoint and status, time to the response head, detector findings, rate-limit
//! refusals and upstream failures. Endpoint labels are the configured names only
//! (`unknown` for the rest), so a client cannot grow the series.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Status {
    endpoint: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Ep {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Detection {
    endpoint: String,
    detector: String,
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Scoped {
    endpoint: String,
    scope: String,
}

/// An endpoint's request counter for `200` and its latency histogram.
pub(crate) struct EndpointSeries {
    ok: Counter,
    latency: Histogram,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<Status, Counter>,
    latency: Family<Ep, Histogram>,
    detections: Family<Detection, Counter>,
    rate_limited: Family<Scoped, Counter>,
    upstream_errors: Family<Scoped, Counter>,
    events_dropped: Counter,
    streams_cut: Family<Ep, Counter>,
    uninspected: Family<Ep, Counter>,
    log_depth: prometheus_client::metrics::gauge::Gauge,
    log_dropped: Counter,
    log_written: Counter,
    log_failed: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("moat_gateway");
        let requests = Family::<Status, Counter>::default();
        r.register(
            "requests",
            "Requests answered by the gateway",
            requests.clone(),
        );
        let latency = Family::<Ep, Histogram>::new_with_constructor(|| {
            // 20 µs to about 10 s.
            Histogram::new(exponential_buckets(0.000_02, 2.0, 20))
        });
        r.register_with_unit(
            "response_head_duration",
            "Time from a request's head to its response's head, upstream included",
            Unit::Seconds,
            latency.clone(),
        );
        let detections = Family::<Detection, Counter>::default();
        r.register(
            "detections",
            "Detector findings, by detector and mode",
            detections.clone(),
        );
        let rate_limited = Family::<Scoped, Counter>::default();
        r.register(
            "rate_limited",
            "Requests refused by a rate limit",
            rate_limited.clone(),
        );
        let upstream_errors = Family::<Scoped, Counter>::default();
        r.register(
            "upstream_errors",
            "Upstream failures: timeouts and unreachable or failing upstreams",
            upstream_errors.clone(),
        );
        let events_dropped = Counter::default();
        r.register(
            "events_dropped",
            "Detections dropped because the event queue was full",
            events_dropped.clone(),
        );
        let streams_cut = Family::<Ep, Counter>::default();
        r.register(
            "streams_cut",
            "Streamed answers ended by a blocking detector",
            streams_cut.clone(),
        );
        let uninspected = Family::<Ep, Counter>::default();
        r.register(
            "responses_uninspected",
            "Responses larger than max_response_bytes, passed on without response detectors",
            uninspected.clone(),
        );
        let log_depth = prometheus_client::metrics::gauge::Gauge::default();
        r.register(
            "log_queue_depth",
            "Request records waiting to be stored",
            log_depth.clone(),
        );
        let log_dropped = Counter::default();
        r.register(
            "log_dropped",
            "Request records dropped because the queue was full (policy drop)",
            log_dropped.clone(),
        );
        let log_written = Counter::default();
        r.register("log_written", "Request records stored", log_written.clone());
        let log_failed = Counter::default();
        r.register(
            "log_failed",
            "Request records the store refused after three tries",
            log_failed.clone(),
        );
        Metrics {
            registry: Arc::new(r),
            log_depth,
            log_dropped,
            log_written,
            log_failed,
            streams_cut,
            uninspected,
            requests,
            latency,
            detections,
            rate_limited,
            upstream_errors,
            events_dropped,
        }
    }

    pub(crate) fn log_depth(&self, n: usize) {
        self.log_depth.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub(crate) fn log_dropped(&self) {
        self.log_dropped.inc();
    }

    pub(crate) fn log_written(&self, n: u64) {
        self.log_written.inc_by(n);
    }

    pub(crate) fn log_failed(&self, n: u64) {
        self.log_failed.inc_by(n);
    }

    pub(crate) fn stream_cut(&self, endpoint: &str) {
        self.streams_cut
            .get_or_create(&Ep {
                endpoint: endpoint.to_owned(),
            })
            .inc();
    }

    pub(crate) fn uninspected(&self, endpoint: &str) {
        self.uninspected
            .get_or_create(&Ep {
                endpoint: endpoint.to_owned(),
            })
            .inc();
    }

    pub(crate) fn event_dropped(&self) {
        self.events_dropped.inc();
    }

    /// For `/metrics`.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// The series an endpoint's answers go to most often, looked up once.
    pub(crate) fn endpoint(&self, endpoint: &str) -> EndpointSeries {
        EndpointSeries {
            ok: self
                .requests
                .get_or_create(&Status {
                    endpoint: endpoint.to_owned(),
                    status: 200,
                })
                .clone(),
            latency: self
                .latency
                .get_or_create(&Ep {
                    endpoint: endpoint.to_owned(),
                })
                .clone(),
        }
    }

    /// One answer of a configured endpoint.
    pub(crate) fn answered_on(
        &self,
        series: &EndpointSeries,
        endpoint: &str,
        status: u16,
        took: Duration,
    ) {
        if status == 200 {
            series.ok.inc();
        } else {
            self.requests
                .get_or_create(&Status {
                    endpoint: endpoint.to_owned(),
                    status,
                })
                .inc();
        }
        series.latency.observe(took.as_secs_f64());
    }

    pub(crate) fn answered(&self, endpoint: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&Status {
                endpoint: endpoint.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&Ep {
                endpoint: endpoint.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn detected(&self, endpoint: &str, detector: &str, mode: &str) {
        self.detections
            .get_or_create(&Detection {
                endpoint: endpoint.to_owned(),
                detector: detector.to_owned(),
                mode: mode.to_owned(),
            })
            .inc();
    }

    pub(crate) fn limited(&self, endpoint: &str, scope: &str) {
        self.rate_limited
            .get_or_create(&Scoped {
                endpoint: endpoint.to_owned(),
                scope: scope.to_owned(),
            })
            .inc();
    }

    pub(crate) fn upstream_error(&self, endpoint: &str, code: &str) {
        self.upstream_errors
            .get_or_create(&Scoped {
                endpoint: endpoint.to_owned(),
                scope: code.to_owned(),
            })
            .inc();
    }

    /// The OpenMetrics text (for tests and for serving the gateway alone).
    pub fn encode(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }
}
