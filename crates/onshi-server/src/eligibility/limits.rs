//! Per-facility rate limits, against harvesting by card number (番号の総当たり).
//!
//! Two limits, each a token bucket per facility ([`onshi_domain::rate`]):
//! - **checks**: every check request (card, number, by reference, and each bulk submission)
//!   takes a token; the default allows a burst of 600 and 600 a minute, far above a reception
//!   desk and far below a scanner.
//! - **mismatches**: every number look-up that matched no one (an unknown card, or a known card
//!   with another birth date) is counted; once a facility has used its allowance (default 100
//!   an hour), its number look-ups, single and bulk rows alike, are refused before anything is
//!   read, so a scan with guessed birth dates learns nothing more until the bucket refills.
//!
//! A refusal is a [`CheckError::RateLimited`] (429 with `Retry-After`; the folder agent writes
//! it as an error answer). The first refusal of an episode (after the facility was last
//! admitted) is written to the audit log and logged as a warning, for the operator; the ones
//! after it are not, so a scanner cannot flood the log.
//!
//! The buckets live in this server's memory: behind several servers each enforces its own
//! share, and a restart forgives. Both are accepted (the limit slows a scan by orders of
//! magnitude either way); a shared limit would put a store write on every check.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use onshi_domain::rate::{Rate, TokenBucket};
use onshi_domain::{AuditAction, FacilityCode};
use onshi_store::Actor;

use super::CheckError;
use crate::AppState;

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Check requests per facility.
    Checks,
    /// Number look-ups that matched no one, per facility.
    Mismatches,
}

impl Limit {
    /// The name errors and the audit log use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checks => "checks",
            Self::Mismatches => "mismatches",
        }
    }
}

/// The two limits' rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Check requests per facility (capacity 0: no limit).
    pub checks: Rate,
    /// Number look-ups matching no one per facility (capacity 0: no limit).
    pub mismatches: Rate,
}

/// The default check limit: a burst of 600 and 600 a minute.
pub const DEFAULT_CHECKS: Rate = Rate::new(600, Duration::minutes(1));
/// The default mismatch limit: 100 an hour.
pub const DEFAULT_MISMATCHES: Rate = Rate::new(100, Duration::hours(1));

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            checks: DEFAULT_CHECKS,
            mismatches: DEFAULT_MISMATCHES,
        }
    }
}

impl RateLimitConfig {
    /// No limits (benchmarks measure throughput without them).
    pub fn unlimited() -> Self {
        Self {
            checks: Rate::new(0, Duration::minutes(1)),
            mismatches: Rate::new(0, Duration::hours(1)),
        }
    }

    fn rate(&self, limit: Limit) -> Rate {
        match limit {
            Limit::Checks => self.checks,
            Limit::Mismatches => self.mismatches,
        }
    }
}

#[derive(Debug)]
struct Buckets {
    checks: TokenBucket,
    mismatches: TokenBucket,
    /// Whether the episode of refusals of each limit was already reported.
    reported: [bool; 2],
}

/// A request refused by a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Which limit.
    pub limit: Limit,
    /// Seconds until a request may succeed.
    pub retry_after: u32,
    /// Whether this is the first refusal since the facility was last admitted (to report).
    pub first: bool,
}

/// The buckets of every facility that made a request since the server started.
#[derive(Debug, Default)]
pub struct RateLimits {
    config: RateLimitConfig,
    facilities: Mutex<HashMap<String, Buckets>>,
}

impl RateLimits {
    /// Limits with `config`.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            facilities: Mutex::default(),
        }
    }

    /// The configured rates.
    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    fn with<T>(
        &self,
        facility: &FacilityCode,
        now: OffsetDateTime,
        f: impl FnOnce(&mut Buckets, &RateLimitConfig) -> T,
    ) -> T {
        // A panic while holding the lock leaves the buckets consistent (each update is one
        // assignment), so a poisoned lock is used as it is.
        let mut map = self
            .facilities
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let buckets = map
            .entry(facility.as_str().to_owned())
            .or_insert_with(|| Buckets {
                checks: TokenBucket::full(self.config.checks, now),
                mismatches: TokenBucket::full(self.config.mismatches, now),
                reported: [false; 2],
            });
        f(buckets, &self.config)
    }

    fn decide(b: &mut Buckets, limit: Limit, outcome: Result<(), u32>) -> Result<(), Refusal> {
        let slot = match limit {
            Limit::Checks => 0,
            Limit::Mismatches => 1,
        };
        match outcome {
            Ok(()) => {
                b.reported[slot] = false;
                Ok(())
            }
            Err(retry_after) => {
                let first = !b.reported[slot];
                b.reported[slot] = true;
                Err(Refusal {
                    limit,
                    retry_after,
                    first,
                })
            }
        }
    }

    /// Takes a check token of `facility`.
    pub fn admit_check(&self, facility: &FacilityCode, now: OffsetDateTime) -> Result<(), Refusal> {
        self.with(facility, now, |b, c| {
            let outcome = b.checks.take(c.checks, now);
            Self::decide(b, Limit::Checks, outcome)
        })
    }

    /// Whether `facility` may make a number look-up (its mismatch allowance is not used up).
    pub fn admit_lookup(
        &self,
        facility: &FacilityCode,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        self.with(facility, now, |b, c| {
            let outcome = b.mismatches.check(c.mismatches, now);
            Self::decide(b, Limit::Mismatches, outcome)
        })
    }

    /// Counts a number look-up of `facility` that matched no one.
    pub fn count_mismatch(&self, facility: &FacilityCode, now: OffsetDateTime) {
        self.with(facility, now, |b, c| b.mismatches.charge(c.mismatches, now));
    }
}

/// Turns a refusal into the workflow's error, reporting the first of an episode: an audit entry
/// (`rate_limited`, naming the limit) and a warning in the log. The facility code is not
/// personal data; nothing of the request is written.
pub async fn refuse(state: &AppState, facility: &FacilityCode, refusal: Refusal) -> CheckError {
    if refusal.first {
        let rate = state.rate_limits.config().rate(refusal.limit);
        let detail = format!(
            "{} limit: {} per {} s; refused for {} s",
            refusal.limit.as_str(),
            rate.capacity,
            rate.period.whole_seconds(),
            refusal.retry_after
        );
        tracing::warn!(
            facility = facility.as_str(),
            limit = refusal.limit.as_str(),
            retry_after = refusal.retry_after,
            "facility over a rate limit: its requests are refused (possible harvesting of card numbers)"
        );
        let actor = Actor::Facility(facility.clone());
        if let Err(e) = state
            .store
            .record_check(
                state.clock.now(),
                &actor,
                AuditAction::RateLimited,
                None,
                &detail,
            )
            .await
        {
            return e.into();
        }
    }
    CheckError::RateLimited {
        limit: refusal.limit,
        retry_after: refusal.retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn refusals_report_once_per_episode_and_per_facility() {
        let t0 = datetime!(2026-11-27 00:00 UTC);
        let limits = RateLimits::new(RateLimitConfig {
            checks: Rate::new(2, Duration::minutes(1)),
            mismatches: Rate::new(1, Duration::hours(1)),
        });
        let a = FacilityCode::parse("1311111111").unwrap();
        let b = FacilityCode::parse("1311111112").unwrap();
        assert!(limits.admit_check(&a, t0).is_ok());
        assert!(limits.admit_check(&a, t0).is_ok());
        let r = limits.admit_check(&a, t0).unwrap_err();
        assert_eq!((r.limit, r.retry_after, r.first), (Limit::Checks, 30, true));
        assert!(!limits.admit_check(&a, t0).unwrap_err().first);
        // After the refill, admitted; the next episode is reported again.
        let t1 = t0 + Duration::seconds(30);
        assert!(limits.admit_check(&a, t1).is_ok());
        assert!(limits.admit_check(&a, t1).unwrap_err().first);

        assert!(limits.admit_lookup(&a, t0).is_ok());
        limits.count_mismatch(&a, t0);
        let r = limits.admit_lookup(&a, t0).unwrap_err();
        assert_eq!((r.limit, r.retry_after), (Limit::Mismatches, 3600));
        assert!(
            limits.admit_lookup(&b, t0).is_ok(),
            "buckets are per facility"
        );
    }
}
