//! Classification of assets: risk tier (aligned with the EU AI Act tiers), data
//! sensitivity, and the review cycle each tier sets.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, EnumString, IntoEnumIterator};

use crate::Error;

/// Risk tier of a model or AI system, lowest first (so `max` is the riskiest).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
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
pub enum RiskTier {
    Minimal,
    Limited,
    High,
    /// Prohibited uses: may be inventoried, never promoted to production.
    Unacceptable,
}

/// Sensitivity of the data an asset holds or was trained on, lowest first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
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
pub enum Sensitivity {
    Public,
    Internal,
    Confidential,
    Restricted,
}

fn known<T: IntoEnumIterator + std::fmt::Display>() -> String {
    T::iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RiskTier {
    /// Parses a tier as typed by a user, with an error listing the choices.
    pub fn parse(s: &str) -> Result<Self, Error> {
        s.parse().map_err(|_| Error::Unknown {
            what: "risk tier",
            value: s.to_owned(),
            known: known::<RiskTier>(),
        })
    }
}

impl Sensitivity {
    /// Parses a sensitivity as typed by a user, with an error listing the choices.
    pub fn parse(s: &str) -> Result<Self, Error> {
        s.parse().map_err(|_| Error::Unknown {
            what: "sensitivity",
            value: s.to_owned(),
            known: known::<Sensitivity>(),
        })
    }
}

/// Days between reviews, per tier. Unacceptable-tier assets are reviewed on the
/// high-risk cycle while they stay in the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewCycles {
    /// Days between reviews of minimal-risk assets.
    pub minimal: u32,
    /// Days between reviews of limited-risk assets.
    pub limited: u32,
    /// Days between reviews of high-risk (and unacceptable) assets.
    pub high: u32,
}

impl Default for ReviewCycles {
    fn default() -> Self {
        ReviewCycles {
            minimal: 365,
            limited: 90,
            high: 30,
        }
    }
}

impl ReviewCycles {
    pub fn days(&self, tier: RiskTier) -> u32 {
        match tier {
            RiskTier::Minimal => self.minimal,
            RiskTier::Limited => self.limited,
            RiskTier::High | RiskTier::Unacceptable => self.high,
        }
    }

    /// Rejects a cycle of zero days, which would make everything overdue at once.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, d) in [
            ("minimal", self.minimal),
            ("limited", self.limited),
            ("high", self.high),
        ] {
            if d == 0 || d > 3660 {
                return Err(Error::Invalid {
                    what: "review cycle",
                    value: format!("{name} = {d}"),
                    rule: "days between reviews must be between 1 and 3660",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        assert_eq!(RiskTier::parse("high").unwrap(), RiskTier::High);
        assert_eq!(
            RiskTier::parse("extreme").unwrap_err().to_string(),
            "unknown risk tier `extreme`; known: `minimal`, `limited`, `high`, `unacceptable`"
        );
        assert!(Sensitivity::Restricted > Sensitivity::Public);
        assert_eq!(ReviewCycles::default().days(RiskTier::High), 30);
        assert_eq!(
            serde_json::to_string(&RiskTier::Unacceptable).unwrap(),
            "\"unacceptable\""
        );
    }
}
