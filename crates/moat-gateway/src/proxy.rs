//! The request path: route by the first path segment, check the key and its scope,
//! apply the rate limits, then stream the request to the upstream and its answer back.
//! Bodies are never buffered here: request bodies pass through a byte limit, responses
//! pass through as they arrive (server-sent events included).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{
    header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri,
};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use crate::breaker::Breaker;
use crate::config::{Endpoint, GatewayConfig, Kind};
use crate::detect::{parse_body, Detector, DetectorCx, Mode, Phase, Rows};
use crate::error::{Body, BoxError, GatewayError};
use crate::inspect::{Read, Recorder, SseGuard};
use crate::keys::{presented_key, KeyCache, KeyProblem, KeyResolver};
use crate::metrics::Metrics;
use crate::ratelimit::{Decision, Limiter};

/// The gateway: routes, keys, limits and the upstream connection pool.
pub struct Gateway {
    routes: HashMap<String, Route>,
    pub metrics: Metrics,
    /// Quarantined model versions (kept current by [`crate::kill::KillSwitch::watch`]).
    pub kill: Arc<crate::kill::KillSwitch>,
    recorder: Recorder,
    log: Option<crate::traffic::RecordQueue>,
    detectors: crate::detect::Shared,
    keys: KeyCache,
    limiter: Limiter,
    shared: Option<crate::shared_limit::SharedLimiter>,
    /// The pool of [`Gateway::handle`]; serving threads bring their own.
    client: Upstream,
    clock: Instant,
    client_timeout: std::time::Duration,
    /// The kill switch's key epoch this gateway's cache reflects.
    keys_seen: std::sync::atomic::AtomicU64,
}

/// A pool of upstream connections. Each serving thread keeps its own, so a request and
/// the connection it travels on are driven by the same event loop.
pub type Upstream = Client<HttpConnector, Body>;

/// A new, empty upstream pool.
pub fn upstream_pool() -> Upstream {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_keepalive(Some(std::time::Duration::from_secs(60)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .build(http)
}

/// What one request leaves for its log record.
#[derive(Default)]
struct Trace {
    key_id: String,
    verdicts: Vec<String>,
    request_bytes: Option<u64>,
    body: Option<String>,
}

/// Bodies kept in a log record at most, in characters.
const LOGGED_BODY: usize = 4096;

/// One endpoint, its detectors and the circuit breaker of its upstream.
struct Route {
    ep: Arc<Endpoint>,
    breaker: Breaker,
    /// Detectors on the request body, and on the response.
    request: Vec<(Arc<dyn Detector>, Mode)>,
    response: Vec<(Arc<dyn Detector>, Mode)>,
    /// The mode of `pii` on responses, for streamed answers.
    stream_pii: Option<Mode>,
    series: crate::metrics::EndpointSeries,
}

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the
/// credentials the gateway consumes.
const HOP: [HeaderName; 10] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    HeaderName::from_static("x-api-key"),
];

impl Gateway {
    pub fn new(config: &GatewayConfig, resolver: Arc<dyn KeyResolver>) -> Self {
        let client = upstream_pool();
        let shared = crate::detect::Shared::default();
        let metrics = Metrics::new();
        Gateway {
            routes: config
                .endpoints
                .iter()
                .map(|e| {
                    let mut route = Route {
                        ep: Arc::new(e.clone()),
                        breaker: Breaker::new(config.circuit_failures, config.circuit_open),
                        request: Vec::new(),
                        response: Vec::new(),
                        stream_pii: None,
                        series: metrics.endpoint(&e.name),
                    };
                    for (id, mode) in &e.detectors {
                        let d = match crate::detect::build(*id, e, &shared) {
                            Ok(d) => d,
                            Err(m) => {
                                // Configuration checks make this unreachable.
                                tracing::error!(endpoint = %e.name, detector = %id, "{m}");
                                continue;
                            }
                        };
                        if !d.applies_to(e.kind) {
                            continue;
                        }
                        if d.phases().contains(&Phase::RequestBody) {
                            route.request.push((d.clone(), *mode));
                        }
                        if d.phases().contains(&Phase::ResponseBody) {
                            route.response.push((d.clone(), *mode));
                            if *id == crate::detect::DetectorId::Pii {
                                route.stream_pii = Some(*mode);
                            }
                        }
                    }
                    (e.name.clone(), route)
                })
                .collect(),
            recorder: Recorder {
                metrics: metrics.clone(),
                events: None,
            },
            metrics,
            kill: Arc::default(),
            log: None,
            detectors: shared,
            keys: KeyCache::new(resolver, config.key_cache),
            limiter: Limiter::default(),
            shared: None,
            client,
            clock: Instant::now(),
            client_timeout: config.client_timeout,
            keys_seen: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Records detections as events through `queue`.
    pub fn with_events(mut self, queue: crate::events::EventQueue) -> Self {
        self.recorder.events = Some(queue);
        self
    }

    /// Writes a record of every request through `queue`.
    pub fn with_log(mut self, queue: crate::traffic::RecordQueue) -> Self {
        self.log = (queue.policy() != crate::traffic::Policy::Off).then_some(queue);
        self
    }

    /// Shares the rate limits with other replicas through Redis.
    pub fn with_shared_limits(mut self, shared: crate::shared_limit::SharedLimiter) -> Self {
        self.shared = Some(shared);
        self
    }

    async fn take(&self, subject: &str, limit: &crate::ratelimit::Limit, now: u64) -> Decision {
        match &self.shared {
            Some(s) => s.check(subject, limit, now).await,
            None => self.limiter.check(subject, limit, now),
        }
    }

    /// How long a client may take to send a request head or a body read whole.
    pub fn client_timeout(&self) -> std::time::Duration {
        self.client_timeout
    }

    /// Forgets verified keys (after a key was revoked or rotated in this process).
    pub fn invalidate_keys(&self) {
        self.keys.invalidate();
    }

    fn now_ns(&self) -> u64 {
        // Offset by a second so a new subject's zero arrival time is in the past.
        self.clock.elapsed().as_nanos() as u64 + 1_000_000_000
    }

    /// Answers one request through the gateway's own upstream pool.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        self.handle_via(req, &self.client).await
    }

    /// Answers one request, always with a response: failures become JSON errors. Its
    /// record goes to the request log (under the `block` policy, before the answer).
    pub async fn handle_via(&self, req: Request<Incoming>, client: &Upstream) -> Response<Body> {
        let start = Instant::now();
        let known = self.routes.get(split_route(req.uri().path()).0);
        let label = known.map_or("unknown", |r| r.ep.name.as_str());
        let logged = self.log.as_ref().map(|_| {
            (
                req.method().to_string(),
                req.uri().path_and_query().map(|p| p.as_str().to_owned()),
            )
        });
        let mut trace = Trace::default();
        let mut code = None;
        let resp = match self.route(req, client, &mut trace).await {
            Ok(r) => r,
            Err(e) => {
                code = Some(e.code);
                e.into_response()
            }
        };
        let took = start.elapsed();
        match known {
            Some(r) => self
                .metrics
                .answered_on(&r.series, label, resp.status().as_u16(), took),
            None => self.metrics.answered(label, resp.status().as_u16(), took),
        }
        let (Some(q), Some((method, path))) = (&self.log, logged) else {
            return resp;
        };
        let record = crate::traffic::Record {
            at: std::time::SystemTime::now(),
            endpoint: label.to_owned(),
            key_id: trace.key_id,
            method,
            path: self.redact_text(path.as_deref().unwrap_or("/")),
            status: resp.status().as_u16(),
            code,
            latency: took,
            request_bytes: trace.request_bytes,
            verdicts: trace.verdicts,
            body: trace.body,
        };
        match q.push(record).await {
            Ok(()) => resp,
            Err(crate::traffic::NotLogged) => GatewayError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                crate::error::Fault::Gateway,
                "log_unavailable",
                "the request log cannot be written, and this gateway answers nothing it cannot log; retry shortly",
            )
            .into_response(),
        }
    }

    /// `text` with personal data and secrets replaced by the guard's tags.
    fn redact_text(&self, text: &str) -> String {
        self.redactor()
            .map(|r| r.redact(text).0)
            .unwrap_or_default()
    }

    /// The guard's redactor in tag mode (which needs no key, so it is always there).
    fn redactor(&self) -> Option<moat_guard::Redactor<'_>> {
        moat_guard::Redactor::new(&self.detectors.scanner, moat_guard::Mode::Tag, None).ok()
    }

    async fn route(
        &self,
        req: Request<Incoming>,
        client: &Upstream,
        trace: &mut Trace,
    ) -> Result<Response<Body>, GatewayError> {
        let path = req.uri().path().to_owned();
        let (name, rest) = split_route(&path);
        let token = presented_key(req.headers()).map_err(|p| match p {
            KeyProblem::Missing => GatewayError::client(
                StatusCode::UNAUTHORIZED,
                "missing_key",
                "send an API key as `Authorization: Bearer <key>` or `x-api-key: <key>`",
            ),
            KeyProblem::Ambiguous => GatewayError::client(
                StatusCode::BAD_REQUEST,
                "ambiguous_key",
                "send one API key, in one header",
            ),
            KeyProblem::Malformed => GatewayError::client(
                StatusCode::UNAUTHORIZED,
                "malformed_key",
                "the API key header is malformed; use `Authorization: Bearer <key>`",
            ),
        })?;
        // Keys changed somewhere (revoked, rotated): forget what was verified.
        let epoch = self.kill.keys_epoch();
        if self
            .keys_seen
            .swap(epoch, std::sync::atomic::Ordering::AcqRel)
            != epoch
        {
            self.keys.invalidate();
        }
        let grant = self
            .keys
            .grant(&token)
            .await
            .map_err(|m| {
                tracing::error!(error = %m, "the key system did not answer");
                GatewayError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    crate::error::Fault::Gateway,
                    "key_system_unavailable",
                    "the gateway cannot check keys right now; retry shortly",
                )
            })?
            .ok_or_else(|| {
                GatewayError::client(
                    StatusCode::UNAUTHORIZED,
                    "invalid_key",
                    "the API key is unknown, revoked or expired",
                )
            })?;
        trace.key_id.clone_from(&grant.key_id);
        // Only a caller with a valid key learns which endpoints exist.
        let Some(route) = self.routes.get(name) else {
            return Err(GatewayError::client(
                StatusCode::NOT_FOUND,
                "unknown_endpoint",
                format!(
                    "no endpoint `{}` behind this gateway; the path starts with the endpoint name (/NAME/…)",
                    truncate(name, 64)
                ),
            ));
        };
        let ep = &route.ep;
        if !grant.may_invoke || !grant.endpoints.iter().any(|e| e == &ep.name) {
            return Err(GatewayError::client(
                StatusCode::FORBIDDEN,
                "out_of_scope",
                format!(
                    "key {} may not call endpoint `{}`; create a key with `--endpoint {}`",
                    grant.key_id, ep.name, ep.name
                ),
            ));
        }
        // The version served: the inventory's (an alias, moved by rollback), else the
        // configured one.
        let served = self.kill.served(&ep.name);
        let model = served
            .as_ref()
            .map(|s| s.model.as_str())
            .or(ep.model.as_deref());
        // Without a version map the configured upstream is used whatever the inventory
        // serves, so the configured version's quarantine holds too.
        let configured_off = ep.versions.is_empty()
            && ep
                .model
                .as_deref()
                .is_some_and(|m| self.kill.is_quarantined(m));
        if configured_off || model.is_some_and(|m| self.kill.is_quarantined(m)) {
            return Err(GatewayError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                crate::error::Fault::Gateway,
                "model_quarantined",
                format!(
                    "endpoint `{}` is switched off: its model version is quarantined by the operators",
                    ep.name
                ),
            ));
        }
        let upstream = match (&served, ep.versions.is_empty()) {
            (Some(s), false) => match ep.versions.get(&s.version) {
                Some((origin, base)) => (origin.as_str(), base.as_str()),
                None => {
                    tracing::error!(endpoint = %ep.name, version = %s.version, "no upstream configured for the version served");
                    return Err(GatewayError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        crate::error::Fault::Gateway,
                        "version_unrouted",
                        format!(
                            "endpoint `{}` serves a model version this gateway has no upstream for; the operators must add it to `versions`",
                            ep.name
                        ),
                    ));
                }
            },
            _ => (ep.origin.as_str(), ep.base_path.as_str()),
        };
        let now = self.now_ns();
        let mut shown: Option<Decision> = None;
        if let Some(l) = &ep.endpoint_rate_limit {
            let d = self.take(&format!("e\0{}", ep.name), l, now).await;
            if !d.allowed {
                self.metrics.limited(&ep.name, "endpoint");
                return Err(limited(d, "endpoint"));
            }
            shown = Some(d);
        }
        if let Some(l) = &ep.rate_limit {
            let d = self
                .take(&format!("k\0{}\0{}", grant.key_id, ep.name), l, now)
                .await;
            if !d.allowed {
                self.metrics.limited(&ep.name, "key");
                return Err(limited(d, "key"));
            }
            shown = Some(d);
        }
        let mut resp = self
            .forward(route, client, upstream, rest, req, trace)
            .await?;
        if let Some(d) = shown {
            rate_headers(resp.headers_mut(), &d);
        }
        Ok(resp)
    }

    async fn forward(
        &self,
        route: &Route,
        client: &Upstream,
        (origin, base_path): (&str, &str),
        rest: &str,
        req: Request<Incoming>,
        trace: &mut Trace,
    ) -> Result<Response<Body>, GatewayError> {
        let ep = &route.ep;
        let too_big = || {
            GatewayError::client(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the request body is larger than the {} bytes accepted",
                    ep.max_body_bytes
                ),
            )
        };
        if let Some(len) = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if len > ep.max_body_bytes {
                return Err(too_big());
            }
        }
        let (mut parts, body) = req.into_parts();
        let pq = match parts.uri.query() {
            Some(q) => format!("{base_path}{rest}?{q}"),
            None => format!("{base_path}{rest}"),
        };
        parts.uri = format!("{origin}{pq}").parse::<Uri>().map_err(|_| {
            GatewayError::client(
                StatusCode::BAD_REQUEST,
                "bad_path",
                "the request path is not valid",
            )
        })?;
        // Retried once on a closed pooled connection: idempotent and without a body (read
        // before the hop-by-hop headers, `Transfer-Encoding` among them, are dropped).
        let retryable = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
            && parts
                .headers
                .get(header::CONTENT_LENGTH)
                .is_none_or(|v| v == "0")
            && !parts.headers.contains_key(header::TRANSFER_ENCODING);
        strip_hop_headers(&mut parts.headers);
        parts.headers.remove(header::AUTHORIZATION);
        parts.headers.remove(header::HOST);
        parts.version = http::Version::HTTP_11;
        let limit = usize::try_from(ep.max_body_bytes).unwrap_or(usize::MAX);
        let reads_body = !route.request.is_empty() || ep.log_bodies;
        if reads_body
            && parts
                .headers
                .get(header::CONTENT_ENCODING)
                .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
        {
            // Detectors read plain bodies: a compressed one would pass unread.
            return Err(GatewayError::client(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "encoded_body",
                format!(
                    "endpoint `{}` inspects request bodies: send them without Content-Encoding",
                    ep.name
                ),
            ));
        }
        if !route.response.is_empty() {
            // Response detectors read plain answers.
            parts.headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        let body: Body = if !reads_body {
            // Nothing reads the body: it streams through.
            Limited::new(body, limit).map_err(BoxError::from).boxed()
        } else {
            let read =
                tokio::time::timeout(self.client_timeout, Limited::new(body, limit).collect())
                    .await
                    .map_err(|_| {
                        GatewayError::client(
                            StatusCode::REQUEST_TIMEOUT,
                            "body_timeout",
                            format!(
                                "the request body did not arrive within {:.1} s",
                                self.client_timeout.as_secs_f64()
                            ),
                        )
                    })?;
            let bytes = read
                .map_err(|e| {
                    if e.to_string().contains("length limit exceeded") {
                        too_big()
                    } else {
                        GatewayError::client(
                            StatusCode::BAD_REQUEST,
                            "body_unreadable",
                            "the request body could not be read to the end",
                        )
                    }
                })?
                .to_bytes();
            trace.request_bytes = Some(bytes.len() as u64);
            match self.inspect_request(route, trace, &bytes)? {
                None => crate::error::full(bytes),
                Some(rewritten) => {
                    parts.headers.remove(header::CONTENT_LENGTH);
                    crate::error::full(rewritten)
                }
            }
        };
        if let Err(left) = route.breaker.admit(Instant::now()) {
            self.metrics.upstream_error(&ep.name, "circuit_open");
            let mut e = GatewayError::upstream(
                StatusCode::SERVICE_UNAVAILABLE,
                "circuit_open",
                format!(
                    "endpoint `{}` failed repeatedly; the gateway stops calling it for {} s more",
                    ep.name,
                    left.as_secs().max(1)
                ),
            );
            e.retry_after = Some(left.as_secs().max(1));
            return Err(e);
        }
        let again = retryable.then(|| parts.clone());
        let mut result = send(client, ep, Request::from_parts(parts, body)).await;
        if let (Some(parts), Err(Failure::Connect(_))) = (again, &result) {
            // The request never reached the upstream (a pooled connection closed under us).
            result = send(
                client,
                ep,
                Request::from_parts(parts, crate::error::full(Bytes::new())),
            )
            .await;
        }
        match &result {
            Ok(r) if matches!(r.status().as_u16(), 502..=504) => {
                route.breaker.failure(Instant::now())
            }
            Ok(_) => route.breaker.success(),
            Err(_) => route.breaker.failure(Instant::now()),
        }
        if let Err(f) = &result {
            let code = match f {
                Failure::Timeout => "upstream_timeout",
                _ => "upstream_unavailable",
            };
            self.metrics.upstream_error(&ep.name, code);
        }
        match result {
            Ok(resp) => {
                let (mut parts, body) = resp.into_parts();
                strip_hop_headers(&mut parts.headers);
                let body = body.map_err(BoxError::from).boxed();
                if route.response.is_empty() {
                    return Ok(Response::from_parts(parts, body));
                }
                self.inspect_response(route, trace, parts, body).await
            }
            Err(Failure::Timeout) => Err(GatewayError::upstream(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                format!(
                    "endpoint `{}` did not answer within {:.1} s",
                    ep.name,
                    ep.upstream_timeout.as_secs_f64()
                ),
            )),
            Err(Failure::Connect(m)) | Err(Failure::Other(m)) => {
                if m.contains("length limit exceeded") {
                    return Err(too_big());
                }
                // The cause names internal addresses: it goes to the log, not the caller.
                tracing::warn!(endpoint = %ep.name, error = %m, "upstream failed");
                Err(GatewayError::upstream(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    format!(
                        "endpoint `{}` could not be reached or broke off its answer; retry later",
                        ep.name
                    ),
                ))
            }
        }
    }

    /// Runs the endpoint's request detectors on a whole body and records every finding;
    /// refuses the request when a detector in `block` mode found something, and gives
    /// the rewritten body when `pii` redacts.
    fn inspect_request(
        &self,
        route: &Route,
        trace: &mut Trace,
        body: &[u8],
    ) -> Result<Option<Bytes>, GatewayError> {
        let ep = &route.ep;
        let key_id = trace.key_id.clone();
        let key_id = key_id.as_str();
        let (mut json, texts) = parse_body(body);
        let rows = match (&json, ep.kind) {
            (Some(v), Kind::Tabular) => Rows::from_json(v),
            _ => None,
        };
        let cx = DetectorCx {
            endpoint: &ep.name,
            key_id,
            kind: ep.kind,
            phase: Phase::RequestBody,
            texts: &texts,
            json: json.as_ref(),
            rows: rows.as_ref(),
        };
        let verdict = crate::inspect::run(&self.recorder, ep, &route.request, &cx);
        trace.verdicts.extend(verdict.found);
        if let Some(f) = verdict.block {
            return Err(GatewayError::client(
                StatusCode::FORBIDDEN,
                "blocked",
                format!(
                    "the request was blocked by detector `{}` (MITRE ATLAS {}): {}",
                    f.detector, f.atlas, f.evidence
                ),
            ));
        }
        let rewritten = (verdict.redact > 0).then(|| self.redacted(json.as_mut(), body));
        if ep.log_bodies {
            let logged = match &rewritten {
                Some(b) => String::from_utf8_lossy(b).into_owned(),
                None => String::from_utf8_lossy(&self.redacted(json.as_mut(), body)).into_owned(),
            };
            trace.body = Some(logged.chars().take(LOGGED_BODY).collect());
        }
        Ok(rewritten)
    }

    /// The body with personal data and secrets replaced by the guard's tags.
    fn redacted(&self, json: Option<&mut serde_json::Value>, body: &[u8]) -> Bytes {
        match (json, self.redactor()) {
            (Some(v), Some(r)) => {
                crate::detect::redact_json(&r, v);
                Bytes::from(serde_json::to_vec(v).unwrap_or_default())
            }
            (None, _) => Bytes::from(self.redact_text(&String::from_utf8_lossy(body))),
            (Some(_), None) => Bytes::new(),
        }
    }

    /// Runs the endpoint's response detectors: streamed answers event by event, other
    /// bodies whole (up to `max_response_bytes`; larger ones pass uninspected, counted).
    async fn inspect_response(
        &self,
        route: &Route,
        trace: &mut Trace,
        mut parts: http::response::Parts,
        body: Body,
    ) -> Result<Response<Body>, GatewayError> {
        let ep = &route.ep;
        let key_id = trace.key_id.clone();
        let key_id = key_id.as_str();
        let streamed = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if streamed {
            let Some(mode) = route.stream_pii else {
                return Ok(Response::from_parts(parts, body));
            };
            // The guard may end the stream early, with an event of its own.
            parts.headers.remove(header::CONTENT_LENGTH);
            let guard = SseGuard::new(
                body,
                self.recorder.clone(),
                ep.clone(),
                key_id.to_owned(),
                self.detectors.scanner.clone(),
                mode,
            );
            return Ok(Response::from_parts(parts, guard.boxed()));
        }
        let limit = usize::try_from(ep.max_response_bytes).unwrap_or(usize::MAX);
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > ep.max_response_bytes) {
            self.metrics.uninspected(&ep.name);
            return Ok(Response::from_parts(parts, body));
        }
        let bytes = match crate::inspect::read_bounded(body, limit).await {
            Ok(Read::Whole(b)) => b,
            Ok(Read::TooLarge(rest)) => {
                self.metrics.uninspected(&ep.name);
                return Ok(Response::from_parts(parts, rest));
            }
            Err(e) => {
                tracing::warn!(endpoint = %ep.name, error = %e, "upstream broke off its answer");
                return Err(GatewayError::upstream(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    format!("endpoint `{}` broke off its answer; retry later", ep.name),
                ));
            }
        };
        let (mut json, texts) = parse_body(&bytes);
        let cx = DetectorCx {
            endpoint: &ep.name,
            key_id,
            kind: ep.kind,
            phase: Phase::ResponseBody,
            texts: &texts,
            json: json.as_ref(),
            rows: None,
        };
        let verdict = crate::inspect::run(&self.recorder, ep, &route.response, &cx);
        trace.verdicts.extend(verdict.found);
        if let Some(f) = verdict.block {
            return Err(GatewayError::upstream(
                StatusCode::BAD_GATEWAY,
                "response_blocked",
                format!(
                    "the answer of endpoint `{}` was withheld by detector `{}` (MITRE ATLAS {}): {}",
                    ep.name, f.detector, f.atlas, f.evidence
                ),
            ));
        }
        let out = if verdict.redact > 0 {
            parts.headers.remove(header::CONTENT_LENGTH);
            self.redacted(json.as_mut(), &bytes)
        } else {
            bytes
        };
        Ok(Response::from_parts(parts, crate::error::full(out)))
    }
}

async fn send(
    client: &Upstream,
    ep: &Endpoint,
    req: Request<Body>,
) -> Result<Response<Incoming>, Failure> {
    match tokio::time::timeout(ep.upstream_timeout, client.request(req)).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => {
            let text = error_chain(&e);
            if e.is_connect() {
                Err(Failure::Connect(text))
            } else {
                Err(Failure::Other(text))
            }
        }
    }
}

enum Failure {
    Timeout,
    Connect(String),
    Other(String),
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `/name/rest…` into `name` and `/rest…` (the rest keeps its leading slash).
fn split_route(path: &str) -> (&str, &str) {
    let p = path.strip_prefix('/').unwrap_or(path);
    match p.find('/') {
        Some(i) => (&p[..i], &p[i..]),
        None => (p, ""),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(n).collect()
}

fn strip_hop_headers(h: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    if !h.contains_key(header::CONNECTION) {
        for n in &HOP {
            h.remove(n);
        }
        return;
    }
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        h.remove(n);
    }
    for n in &HOP {
        h.remove(n);
    }
}

fn limited(d: Decision, scope: &str) -> GatewayError {
    let secs = d.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut e = GatewayError::client(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("the {scope} rate limit is reached; retry after {secs} s"),
    );
    e.retry_after = Some(secs);
    e.rate = Some(d);
    e
}

pub(crate) fn rate_headers(h: &mut HeaderMap, d: &Decision) {
    let reset = d.reset.as_secs_f64().ceil() as u64;
    h.insert("ratelimit-limit", HeaderValue::from(d.limit));
    h.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
    h.insert("ratelimit-reset", HeaderValue::from(reset));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_split_on_the_first_segment() {
        assert_eq!(split_route("/credit/v1/predict"), ("credit", "/v1/predict"));
        assert_eq!(split_route("/credit"), ("credit", ""));
        assert_eq!(split_route("/credit/"), ("credit", "/"));
        assert_eq!(split_route("/"), ("", ""));
    }

    #[test]
    fn hop_headers_and_the_ones_they_name_go() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("close, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("x-api-key", HeaderValue::from_static("k"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        strip_hop_headers(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("content-type"));
    }
}
