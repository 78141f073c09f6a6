//! The gateway's own answers: JSON errors that say whose fault it was.
//!
//! `{"error": {"type": "client|upstream|gateway", "code": "…", "message": "…"}}` — the
//! `type` tells a caller whether to fix its request, wait for the model server, or call
//! the operator. Messages never echo a key.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};

pub type Body = BoxBody<Bytes, BoxError>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Who failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Client,
    Upstream,
    Gateway,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Client => "client",
            Fault::Upstream => "upstream",
            Fault::Gateway => "gateway",
        }
    }
}

/// A refusal or failure the gateway answers itself.
#[derive(Debug, Clone)]
pub struct GatewayError {
    pub status: StatusCode,
    pub fault: Fault,
    /// Stable, machine-readable (`missing_key`, `rate_limited`, `upstream_timeout`, …).
    pub code: &'static str,
    pub message: String,
    /// Seconds for `Retry-After` (rate limits).
    pub retry_after: Option<u64>,
    /// The limit that refused the request, for the `RateLimit-*` headers.
    pub rate: Option<crate::ratelimit::Decision>,
}

impl GatewayError {
    pub fn new(
        status: StatusCode,
        fault: Fault,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        GatewayError {
            status,
            fault,
            code,
            message: message.into(),
            retry_after: None,
            rate: None,
        }
    }

    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status, Fault::Client, code, message)
    }

    pub fn upstream(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status, Fault::Upstream, code, message)
    }

    pub fn gateway(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Fault::Gateway,
            code,
            message,
        )
    }

    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::json!({
            "error": {"type": self.fault.as_str(), "code": self.code, "message": self.message}
        });
        let mut r = Response::new(full(body.to_string()));
        *r.status_mut() = self.status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
        }
        if let Some(d) = &self.rate {
            crate::proxy::rate_headers(r.headers_mut(), d);
        }
        r
    }
}

pub fn full(s: impl Into<Bytes>) -> Body {
    Full::new(s.into()).map_err(|never| match never {}).boxed()
}
