//! HTTP: the axum router, authentication of callers, request ids, metrics.

mod api;
mod dashboard;
mod metrics;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use moat_domain::AuthMethod;

use crate::error::ServiceError;
use crate::service::{App, Ctx};

pub use api::openapi_json;

/// How the HTTP side runs.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Serve the dashboard without a key (the demo does).
    pub public_dashboard: bool,
    /// More metrics for `/metrics` (the gateway's), encoded after the server's own.
    pub extra_metrics: Vec<Arc<prometheus_client::registry::Registry>>,
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub app: App,
    pub metrics: Arc<metrics::Metrics>,
    pub options: HttpOptions,
    pub sessions: Arc<dashboard::Sessions>,
}

/// The whole HTTP surface: `/api/v1/…`, `/openapi.json`, `/healthz`, `/metrics`, `/`.
pub fn router(app: App, options: HttpOptions) -> Router {
    let state = AppState {
        app,
        metrics: Arc::new(metrics::Metrics::new()),
        options,
        sessions: Arc::default(),
    };
    Router::new()
        .nest("/api/v1", api::routes())
        .route("/openapi.json", get(api::openapi))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::scrape))
        .merge(dashboard::routes())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Request id (kept from `x-request-id` when the caller sends a sane one) and metrics.
async fn observe(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| crate::secret::new_id("req"));
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let start = std::time::Instant::now();
    let mut resp = next.run(req).await;
    st.metrics.observe(
        method.as_str(),
        &route,
        resp.status().as_u16(),
        start.elapsed(),
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

#[derive(Clone)]
pub(crate) struct RequestId(pub String);

/// An authenticated caller: `Authorization: Bearer <key>` or `x-api-key: <key>`
/// (or the dashboard's session cookie).
pub(crate) struct Caller(pub Ctx);

pub(crate) fn presented_key(parts: &Parts) -> Option<String> {
    let h = &parts.headers;
    if let Some(v) = h
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(t.trim().to_owned());
        }
    }
    if let Some(v) = h.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_owned());
    }
    None
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts).ok_or(ServiceError::Unauthenticated)?;
        let principal = st.app.authenticate(&key, AuthMethod::ApiKey).await?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| crate::secret::new_id("req"));
        Ok(Caller(Ctx {
            principal,
            request_id,
        }))
    }
}

/// `Json`, `Query` and `Path` whose rejections are JSON errors like every other
/// error of the API (axum's own are plain text).
pub(crate) struct ApiJson<T>(pub T);
pub(crate) struct ApiQuery<T>(pub T);
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(|e| ServiceError::Invalid(e.body_text()))
    }
}

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| ServiceError::Invalid(e.body_text()))
    }
}

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ServiceError::Invalid(e.body_text()))
    }
}
