//! Errors of the service layer. Each says whose fault it is: the caller's (bad input,
//! missing permission, unknown name) or ours (storage, a bug). HTTP maps them to status
//! codes, the command line to exit codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// No key, or a key that is unknown, expired or revoked.
    #[error("missing or invalid API key: pass a key with `Authorization: Bearer moat_sk_…` or `x-api-key` (CLI: --api-key or MOAT_API_KEY)")]
    Unauthenticated,
    /// The caller is known but lacks a permission.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed or breaks a rule; the message says how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl From<moat_store::Error> for ServiceError {
    fn from(e: moat_store::Error) -> Self {
        match e {
            moat_store::Error::Duplicate(what) => ServiceError::Conflict(format!(
                "{what} already exists; versions are immutable: register a new version instead"
            )),
            moat_store::Error::NotFound(what) => {
                ServiceError::NotFound(format!("{what} not found"))
            }
            other => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<moat_domain::Error> for ServiceError {
    fn from(e: moat_domain::Error) -> Self {
        ServiceError::Invalid(e.to_string())
    }
}

impl From<moat_audit::Error> for ServiceError {
    fn from(e: moat_audit::Error) -> Self {
        ServiceError::Internal(anyhow::Error::new(e))
    }
}

impl ServiceError {
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Unauthenticated => "unauthenticated",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::NotFound(_) => "not-found",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Invalid(_) => "invalid",
            ServiceError::Internal(_) => "internal",
        }
    }

    pub(crate) fn not_found(what: impl std::fmt::Display) -> Self {
        ServiceError::NotFound(format!("{what} not found"))
    }
}

/// The JSON body of every error response.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// `unauthenticated`, `forbidden`, `not-found`, `conflict`, `invalid` or `internal`.
    pub error: String,
    /// What went wrong and what to do. Internal details are logged, not returned.
    pub message: String,
    /// Who failed: `client` or `server`.
    pub source: String,
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ServiceError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "Request failed.");
                "internal error; the details are in the server log".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: self.code().to_owned(),
            message,
            source: if status.is_server_error() {
                "server"
            } else {
                "client"
            }
            .to_owned(),
        };
        (status, Json(body)).into_response()
    }
}
