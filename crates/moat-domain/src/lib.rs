//! Shared types and pure rules of Moat: assets and their classification, roles and
//! permissions, evidence, and the validation of names and versions.
//!
//! Everything here is data and pure functions; no IO. The other crates build on it:
//!
//! ```
//! use moat_domain::{AssetRef, RiskTier};
//! let r: AssetRef = "fraud-scorer@1.4.0".parse().unwrap();
//! assert_eq!(r.name, "fraud-scorer");
//! assert!(RiskTier::High > RiskTier::Limited);
//! ```

mod asset;
mod classify;
mod error;
mod event;
mod evidence;
mod identity;
mod name;
mod time_fmt;
mod traffic;

pub use asset::{
    AiSystem, AliasMove, Artifact, Dataset, Endpoint, InventoryRow, LineageEdge, ModelVersion,
    Review, Source, Team, Vendor, VendorQuestionnaire, PROTECTED_ALIASES,
};
pub use classify::{ReviewCycles, RiskTier, Sensitivity};
pub use error::Error;
pub use event::DetectionEvent;
pub use evidence::{Evidence, EvidenceKind, NewEvidence, Verdict};
pub use identity::{AuthMethod, KeyInfo, Permission, Principal, PrincipalKind, Role};
pub use name::{validate_name, validate_version, AssetRef};
pub use time_fmt::{format_time, now, parse_time, Timestamp};
pub use traffic::TrafficRecord;
