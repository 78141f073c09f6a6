//! A circuit breaker per upstream: after `failures` failures in a row (timeouts,
//! refused or reset connections, 502/503/504 answers) the upstream is left alone for
//! `open_for`, and callers get `503 circuit_open` at once instead of waiting on a dead
//! server. Then one request at a time is let through (half-open): a success closes the
//! circuit, a failure opens it again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial request is in flight.
    HalfOpen,
}

#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    failures: u32,
    open_for: Duration,
}

impl Breaker {
    pub fn new(failures: u32, open_for: Duration) -> Self {
        Breaker {
            state: Mutex::new(State::Closed { failures: 0 }),
            failures: failures.max(1),
            open_for,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a request may go to the upstream now; `Err` holds the time left open.
    pub fn admit(&self, now: Instant) -> Result<(), Duration> {
        let mut s = self.lock();
        match *s {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now >= until => {
                *s = State::HalfOpen;
                Ok(())
            }
            State::Open { until } => Err(until - now),
            // The trial is still out: the others wait for its verdict.
            State::HalfOpen => Err(Duration::from_secs(1)),
        }
    }

    pub fn success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    pub fn failure(&self, now: Instant) {
        let mut s = self.lock();
        *s = match *s {
            State::Closed { failures } if failures + 1 < self.failures => State::Closed {
                failures: failures + 1,
            },
            _ => State::Open {
                until: now + self.open_for,
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_recovers_through_one_trial() {
        let b = Breaker::new(3, Duration::from_secs(10));
        let t = Instant::now();
        b.failure(t);
        b.failure(t);
        b.success();
        b.failure(t);
        b.failure(t);
        assert!(b.admit(t).is_ok(), "a success reset the count");
        b.failure(t);
        assert_eq!(
            b.admit(t + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        let later = t + Duration::from_secs(10);
        assert!(b.admit(later).is_ok(), "the trial request");
        assert!(b.admit(later).is_err(), "only one trial at a time");
        b.failure(later);
        assert!(
            b.admit(later + Duration::from_secs(1)).is_err(),
            "open again"
        );
        let again = later + Duration::from_secs(10);
        assert!(b.admit(again).is_ok());
        b.success();
        assert!(b.admit(again).is_ok() && b.admit(again).is_ok(), "closed");
    }
}
