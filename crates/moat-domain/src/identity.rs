//! Principals, roles and permissions: who may do what. Least privilege: every action
//! names one permission; a role is the set of permissions it grants; auditors only read.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, EnumString, IntoEnumIterator};

use crate::{Error, Timestamp};

/// What a principal is allowed to be.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    Display,
    EnumString,
    EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Role {
    Admin,
    Security,
    Owner,
    DataScientist,
    Auditor,
    Service,
}

impl Role {
    pub fn parse(s: &str) -> Result<Self, Error> {
        s.parse().map_err(|_| Error::Unknown {
            what: "role",
            value: s.to_owned(),
            known: Role::iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Whether every permission of `self` is also held by `other`: a non-admin may
    /// only hand out (or take away) keys of roles within its own.
    pub fn within(self, other: Role) -> bool {
        Permission::iter().all(|p| !self.allows(p) || other.allows(p))
    }

    /// Whether this role holds `p`. The matrix is the whole access policy of the
    /// inventory; the tests print it so that a change shows in review.
    pub fn allows(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Auditor => p.is_read(),
            Role::Security => {
                p.is_read()
                    || matches!(
                        p,
                        P::ModelClassify
                            | P::ModelReview
                            | P::DatasetReview
                            | P::VendorWrite
                            | P::EvidenceWrite
                            | P::KeyCreate
                            | P::KeyRevoke
                            | P::AuditCheckpoint
                            | P::SystemWrite
                            | P::ModelQuarantine
                            | P::EndpointRollback
                    )
            }
            Role::Owner => {
                matches!(
                    p,
                    P::InventoryRead
                        | P::ModelRead
                        | P::DatasetRead
                        | P::VendorRead
                        | P::EvidenceRead
                        | P::ModelRegister
                        | P::DatasetRegister
                        | P::ModelClassify
                        | P::ModelAlias
                        | P::ModelPromote
                        | P::EndpointWrite
                        | P::EndpointRollback
                        | P::SystemWrite
                        | P::EvidenceWrite
                        | P::VendorWrite
                )
            }
            Role::DataScientist => matches!(
                p,
                P::InventoryRead
                    | P::ModelRead
                    | P::DatasetRead
                    | P::VendorRead
                    | P::EvidenceRead
                    | P::ModelRegister
                    | P::DatasetRegister
                    | P::ModelAlias
                    | P::EvidenceWrite
            ),
            Role::Service => matches!(
                p,
                P::InventoryRead
                    | P::ModelRead
                    | P::DatasetRead
                    | P::EvidenceRead
                    | P::EvidenceWrite
                    | P::GatewayInvoke
            ),
        }
    }
}

/// One permission per action. Ids are stable: they appear in error messages, the
/// audit log and (later) policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Display, EnumString, EnumIter)]
#[non_exhaustive]
pub enum Permission {
    #[strum(serialize = "inventory.read")]
    InventoryRead,
    #[strum(serialize = "model.read")]
    ModelRead,
    #[strum(serialize = "model.register")]
    ModelRegister,
    #[strum(serialize = "model.classify")]
    ModelClassify,
    #[strum(serialize = "model.review")]
    ModelReview,
    /// Move a non-protected alias such as `staging`.
    #[strum(serialize = "model.alias")]
    ModelAlias,
    /// Move a protected alias such as `production`.
    #[strum(serialize = "model.promote")]
    ModelPromote,
    #[strum(serialize = "dataset.read")]
    DatasetRead,
    #[strum(serialize = "dataset.register")]
    DatasetRegister,
    #[strum(serialize = "dataset.review")]
    DatasetReview,
    #[strum(serialize = "vendor.read")]
    VendorRead,
    #[strum(serialize = "vendor.write")]
    VendorWrite,
    #[strum(serialize = "system.write")]
    SystemWrite,
    #[strum(serialize = "endpoint.write")]
    EndpointWrite,
    #[strum(serialize = "evidence.read")]
    EvidenceRead,
    #[strum(serialize = "evidence.write")]
    EvidenceWrite,
    /// List keys (metadata only; secrets are never stored). A privileged read.
    #[strum(serialize = "key.read")]
    KeyRead,
    #[strum(serialize = "key.create")]
    KeyCreate,
    #[strum(serialize = "key.revoke")]
    KeyRevoke,
    /// Read the audit log and its proofs. A privileged read.
    #[strum(serialize = "audit.read")]
    AuditRead,
    #[strum(serialize = "audit.checkpoint")]
    AuditCheckpoint,
    /// Erase the personal details kept beside an audit entry (the entry stays).
    #[strum(serialize = "audit.erase")]
    AuditErase,
    /// Call an inference endpoint through the gateway.
    #[strum(serialize = "gateway.invoke")]
    GatewayInvoke,
    /// Quarantine a model version (the gateway refuses its traffic) or release it: the
    /// kill switch of incident response.
    #[strum(serialize = "model.quarantine")]
    ModelQuarantine,
    /// Move the alias an endpoint serves back to the version before (incident response).
    #[strum(serialize = "endpoint.rollback")]
    EndpointRollback,
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|_| serde::de::Error::custom(format!("unknown permission `{s}`")))
    }
}

impl Permission {
    /// Read-only permissions (granted to auditors).
    pub fn is_read(self) -> bool {
        use Permission as P;
        matches!(
            self,
            P::InventoryRead
                | P::ModelRead
                | P::DatasetRead
                | P::VendorRead
                | P::EvidenceRead
                | P::KeyRead
                | P::AuditRead
        )
    }

    /// Reads that are themselves recorded in the audit log.
    pub fn is_privileged_read(self) -> bool {
        matches!(self, Permission::KeyRead | Permission::AuditRead)
    }

    /// The roles that hold this permission, for error messages:
    /// ``permission `model.register` requires role admin, owner or data-scientist``.
    pub fn roles(self) -> Vec<Role> {
        Role::iter().filter(|r| r.allows(self)).collect()
    }

    pub fn denial_message(self) -> String {
        let roles: Vec<String> = self.roles().iter().map(|r| r.to_string()).collect();
        let list = match roles.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => "none".to_owned(),
        };
        format!("permission `{self}` requires role {list}")
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    Display,
    EnumString,
    EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum PrincipalKind {
    User,
    Service,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Principal {
    pub id: String,
    pub name: String,
    pub kind: PrincipalKind,
    pub role: Role,
    /// The key it authenticated with, when it did so with a key.
    pub key_id: Option<String>,
    /// Endpoints the key is scoped to; empty means not scoped.
    pub endpoints: Vec<String>,
    pub auth: AuthMethod,
    /// When the key it authenticated with stops being valid (expiry or the end of a
    /// rotation's overlap), so that caches of verified keys honour it.
    #[serde(skip)]
    pub key_expires: Option<crate::Timestamp>,
}

impl Principal {
    pub fn can(&self, p: Permission) -> bool {
        self.role.allows(p)
    }
}

/// How a principal proved who it is; recorded in every audit entry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Display, EnumString,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum AuthMethod {
    /// An API key over HTTP (`Authorization: Bearer` or `x-api-key`).
    ApiKey,
    /// An API key used by the local command line against the store.
    CliKey,
    /// The system itself (`moat init`, the demo seed).
    System,
}

/// What is stored about an API key: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub principal_id: String,
    pub role: Role,
    pub endpoints: Vec<String>,
    /// First characters of the key, enough to recognise it (`moat_sk_3f9a1c…`).
    pub display_prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    /// The key this one replaced, when it was made by `moat key rotate`.
    pub rotated_from: Option<String>,
}

impl KeyInfo {
    pub fn is_active(&self, at: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| at < e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditors_only_read_and_messages_name_roles() {
        for p in Permission::iter() {
            assert_eq!(Role::Auditor.allows(p), p.is_read(), "{p}");
            assert!(Role::Admin.allows(p));
        }
        assert_eq!(
            Permission::ModelRegister.denial_message(),
            "permission `model.register` requires role admin, owner or data-scientist"
        );
        assert_eq!(
            serde_json::to_string(&Permission::ModelRegister).unwrap(),
            "\"model.register\""
        );
        assert_eq!(
            serde_json::from_str::<Permission>("\"audit.read\"").unwrap(),
            Permission::AuditRead
        );
        assert_eq!(
            Permission::ModelPromote.denial_message(),
            "permission `model.promote` requires role admin or owner"
        );
    }

    #[test]
    fn roles_within_roles() {
        assert!(Role::Auditor.within(Role::Security));
        assert!(!Role::Owner.within(Role::Security));
        assert!(
            !Role::Service.within(Role::Security),
            "security cannot call endpoints"
        );
        assert!(Role::Security.within(Role::Admin));
        assert!(!Role::Admin.within(Role::Security));
    }

    /// The whole access matrix, so that any change to it is visible in review.
    #[test]
    fn access_matrix_snapshot() {
        let mut out = String::new();
        for p in Permission::iter() {
            let roles: Vec<String> = p.roles().iter().map(|r| r.to_string()).collect();
            out.push_str(&format!("{p}: {}\n", roles.join(" ")));
        }
        let expected = "\
inventory.read: admin security owner data-scientist auditor service
model.read: admin security owner data-scientist auditor service
model.register: admin owner data-scientist
model.classify: admin security owner
model.review: admin security
model.alias: admin owner data-scientist
model.promote: admin owner
dataset.read: admin security owner data-scientist auditor service
dataset.register: admin owner data-scientist
dataset.review: admin security
vendor.read: admin security owner data-scientist auditor
vendor.write: admin security owner
system.write: admin security owner
endpoint.write: admin owner
evidence.read: admin security owner data-scientist auditor service
evidence.write: admin security owner data-scientist service
key.read: admin security auditor
key.create: admin security
key.revoke: admin security
audit.read: admin security auditor
audit.checkpoint: admin security
audit.erase: admin
gateway.invoke: admin service
model.quarantine: admin security
endpoint.rollback: admin security owner
";
        assert_eq!(out, expected);
    }
}
