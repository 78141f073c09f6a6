//! Rate limits and quotas: GCRA (the generic cell rate algorithm, ITU-T I.371), one
//! theoretical arrival time per limited subject. A limit of `rate` requests a second with
//! `burst` lets `burst` requests through at once, then one every `1/rate` seconds.
//!
//! GCRA keeps one number per subject and answers in constant time; it also says exactly
//! when the next request would pass (`Retry-After`) and how much of the burst is left
//! (`RateLimit-Remaining`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A limit: `rate` requests a second on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Sustained requests a second (fractions allowed: 0.5 is one every two seconds).
    pub rate: f64,
    /// Requests allowed at once after a quiet period (at least 1).
    #[serde(default = "one")]
    pub burst: u32,
}

fn one() -> u32 {
    1
}

impl Limit {
    /// Checks the numbers; the message says what to change.
    pub fn validate(&self, what: &str) -> Result<(), String> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 1e9) {
            return Err(format!(
                "{what}: rate must be a number of requests a second above 0 (got {})",
                self.rate
            ));
        }
        if self.burst == 0 {
            return Err(format!("{what}: burst must be at least 1"));
        }
        Ok(())
    }

    /// Nanoseconds between two requests at the sustained rate.
    pub fn emission_ns(&self) -> u64 {
        ((1e9 / self.rate).round() as u64).max(1)
    }

    /// How far ahead of `now` the theoretical arrival time may run.
    pub fn tolerance_ns(&self) -> u64 {
        self.emission_ns().saturating_mul(u64::from(self.burst))
    }
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The burst capacity.
    pub limit: u32,
    /// Requests that would still pass right now.
    pub remaining: u32,
    /// Until the subject is back to its full burst.
    pub reset: Duration,
    /// Until the next request would pass (zero when allowed).
    pub retry_after: Duration,
}

/// One GCRA step: `tat` is the subject's theoretical arrival time (ns, 0 for a new
/// subject); returns the decision and the new `tat`.
pub fn gcra(limit: &Limit, tat: u64, now: u64) -> (Decision, u64) {
    let t = limit.emission_ns();
    let tau = limit.tolerance_ns();
    let base = tat.max(now);
    let new_tat = base.saturating_add(t);
    let allow_at = new_tat.saturating_sub(tau);
    if now < allow_at {
        let d = Decision {
            allowed: false,
            limit: limit.burst,
            remaining: 0,
            reset: Duration::from_nanos(tat.saturating_sub(now)),
            retry_after: Duration::from_nanos(allow_at - now),
        };
        return (d, tat);
    }
    let used = new_tat - now;
    let remaining = (tau.saturating_sub(used) / t) as u32;
    let d = Decision {
        allowed: true,
        limit: limit.burst,
        remaining,
        reset: Duration::from_nanos(used),
        retry_after: Duration::ZERO,
    };
    (d, new_tat)
}

/// In-process limiter state: one theoretical arrival time per subject, sharded to keep
/// lock hold times short. Memory is bounded: a subject whose arrival time has passed is
/// indistinguishable from a new one and is dropped when its shard grows.
pub struct Limiter {
    shards: Vec<Mutex<HashMap<String, u64>>>,
    max_per_shard: usize,
}

const SHARDS: usize = 64;

impl Default for Limiter {
    fn default() -> Self {
        Self::new(1 << 20)
    }
}

impl Limiter {
    /// `max_subjects`: roughly how many live subjects to keep before sweeping.
    pub fn new(max_subjects: usize) -> Self {
        Limiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            max_per_shard: (max_subjects / SHARDS).max(16),
        }
    }

    fn shard(&self, subject: &str) -> &Mutex<HashMap<String, u64>> {
        // FNV-1a: cheap and good enough to spread subjects over shards.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in subject.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        &self.shards[(h as usize) % SHARDS]
    }

    /// Takes one request for `subject` under `limit` at `now` (ns on any monotonic clock).
    pub fn check(&self, subject: &str, limit: &Limit, now: u64) -> Decision {
        let mut map = self
            .shard(subject)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tat = map.get(subject).copied().unwrap_or(0);
        let (d, new_tat) = gcra(limit, tat, now);
        if d.allowed {
            if !map.contains_key(subject) && map.len() >= self.max_per_shard {
                map.retain(|_, &mut t| t > now);
            }
            map.insert(subject.to_owned(), new_tat);
        }
        d
    }

    /// Live subjects (for metrics and tests).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|m| m.len()).unwrap_or(0))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn burst_then_steady_rate() {
        let l = Limit {
            rate: 10.0,
            burst: 5,
        };
        let lim = Limiter::default();
        let admitted = (0..20).filter(|_| lim.check("k", &l, S).allowed).count();
        assert_eq!(admitted, 5, "a burst of 5 at one instant");
        let d = lim.check("k", &l, S);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::from_millis(100));
        assert!(lim.check("k", &l, S + 100_000_000).allowed);
        assert!(!lim.check("k", &l, S + 100_000_000).allowed);
    }

    #[test]
    fn remaining_counts_down_and_subjects_are_separate() {
        let l = Limit {
            rate: 1.0,
            burst: 3,
        };
        let lim = Limiter::default();
        let r: Vec<u32> = (0..3).map(|_| lim.check("a", &l, S).remaining).collect();
        assert_eq!(r, vec![2, 1, 0]);
        assert!(lim.check("b", &l, S).allowed);
    }

    #[test]
    fn bad_limits_are_refused() {
        assert!(Limit {
            rate: 0.0,
            burst: 1
        }
        .validate("x")
        .is_err());
        assert!(Limit {
            rate: f64::NAN,
            burst: 1
        }
        .validate("x")
        .is_err());
        assert!(Limit {
            rate: 1.0,
            burst: 0
        }
        .validate("x")
        .is_err());
        assert!(Limit {
            rate: 1.0,
            burst: 1
        }
        .validate("x")
        .is_ok());
    }

    #[test]
    fn memory_stays_bounded() {
        let l = Limit {
            rate: 1000.0,
            burst: 1,
        };
        let lim = Limiter::new(64 * 16);
        for i in 0..100_000u64 {
            lim.check(&format!("s{i}"), &l, S + i * 10_000_000);
        }
        assert!(lim.len() <= 64 * 16 + 64, "{} subjects kept", lim.len());
    }

    proptest! {
        /// Over any window, admitted requests never exceed burst + rate × window.
        #[test]
        fn never_admits_more_than_the_limit(
            rate in 0.5f64..1000.0,
            burst in 1u32..50,
            gaps in proptest::collection::vec(0u64..50_000_000, 1..400),
        ) {
            let l = Limit { rate, burst };
            let lim = Limiter::default();
            let mut now = S;
            let mut admitted = 0u64;
            for g in &gaps {
                now += g;
                if lim.check("k", &l, now).allowed {
                    admitted += 1;
                }
            }
            let window = (now - S) as f64 / 1e9;
            let bound = f64::from(burst) + rate * window + 1.0;
            prop_assert!(admitted as f64 <= bound, "{admitted} > {bound}");
        }

        /// A rejected request is told a wait after which it passes.
        #[test]
        fn retry_after_is_exact(rate in 0.5f64..1000.0, burst in 1u32..20) {
            let l = Limit { rate, burst };
            let lim = Limiter::default();
            let mut d = lim.check("k", &l, S);
            while d.allowed {
                d = lim.check("k", &l, S);
            }
            let wait = d.retry_after.as_nanos() as u64;
            prop_assert!(wait > 0);
            prop_assert!(!lim.check("k", &l, S + wait - 1).allowed);
            prop_assert!(lim.check("k", &l, S + wait).allowed);
        }
    }
}
