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
                })),
                Err(ServiceError::Unauthenticated) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// The quarantines of the inventory, for the gateway's kill switch.
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
}
