//! Rate limits as token buckets: a bucket holds up to `capacity` tokens and refills at
//! `capacity` per `period`; each event takes one. The server keeps one bucket per facility and
//! limit (checks, and number look-ups that matched no one); this module only does the arithmetic,
//! with time passed in.

use time::{Duration, OffsetDateTime};

/// How much a limit allows: `capacity` events at once, refilled at `capacity` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// The most events allowed in a burst (and per `period` over time).
    pub capacity: u32,
    /// The time in which a full bucket refills.
    pub period: Duration,
}

impl Rate {
    /// `capacity` per `period`.
    pub const fn new(capacity: u32, period: Duration) -> Self {
        Self { capacity, period }
    }

    /// Whether the limit is switched off (a capacity of 0 means no limit).
    pub fn is_unlimited(&self) -> bool {
        self.capacity == 0 || self.period <= Duration::ZERO
    }
}

/// One bucket: how many tokens it held at `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    at: OffsetDateTime,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn full(rate: Rate, now: OffsetDateTime) -> Self {
        Self {
            tokens: f64::from(rate.capacity),
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: OffsetDateTime) {
        if now > self.at {
            let elapsed = (now - self.at).as_seconds_f64();
            let per_second = f64::from(rate.capacity) / rate.period.as_seconds_f64();
            self.tokens = (self.tokens + elapsed * per_second).min(f64::from(rate.capacity));
            self.at = now;
        }
    }

    /// Whether one event may happen now, without taking a token; `Err` says how long until it
    /// may (whole seconds, at least 1).
    pub fn check(&mut self, rate: Rate, now: OffsetDateTime) -> Result<(), u32> {
        if rate.is_unlimited() {
            return Ok(());
        }
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            return Ok(());
        }
        let per_second = f64::from(rate.capacity) / rate.period.as_seconds_f64();
        let wait = ((1.0 - self.tokens) / per_second).ceil().max(1.0);
        // The cast saturates: a wait beyond u32 seconds (136 years) is not a real setting.
        Err(wait.min(f64::from(u32::MAX)) as u32)
    }

    /// Takes one token if there is one (as [`TokenBucket::check`] says).
    pub fn take(&mut self, rate: Rate, now: OffsetDateTime) -> Result<(), u32> {
        self.check(rate, now)?;
        if !rate.is_unlimited() {
            self.tokens -= 1.0;
        }
        Ok(())
    }

    /// Takes one token even when none is left (an event that already happened, such as a
    /// look-up that matched no one, is counted; the bucket goes no lower than -capacity).
    pub fn charge(&mut self, rate: Rate, now: OffsetDateTime) {
        if rate.is_unlimited() {
            return;
        }
        self.refill(rate, now);
        self.tokens = (self.tokens - 1.0).max(-f64::from(rate.capacity));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-27 00:00 UTC);

    #[test]
    fn a_burst_then_the_refill_rate() {
        let rate = Rate::new(3, Duration::minutes(1));
        let mut b = TokenBucket::full(rate, T0);
        for _ in 0..3 {
            assert_eq!(b.take(rate, T0), Ok(()));
        }
        // One token comes back every 20 s.
        assert_eq!(b.take(rate, T0), Err(20));
        assert_eq!(b.take(rate, T0 + Duration::seconds(5)), Err(15));
        assert_eq!(b.take(rate, T0 + Duration::seconds(20)), Ok(()));
        assert_eq!(b.take(rate, T0 + Duration::seconds(20)), Err(20));
        // A long pause refills to the capacity, not beyond.
        let later = T0 + Duration::hours(1);
        for _ in 0..3 {
            assert_eq!(b.take(rate, later), Ok(()));
        }
        assert!(b.take(rate, later).is_err());
    }

    #[test]
    fn check_does_not_take_and_charge_goes_into_debt() {
        let rate = Rate::new(2, Duration::hours(1));
        let mut b = TokenBucket::full(rate, T0);
        assert_eq!(b.check(rate, T0), Ok(()));
        assert_eq!(b.check(rate, T0), Ok(()));
        b.charge(rate, T0);
        b.charge(rate, T0);
        assert_eq!(b.check(rate, T0), Err(1800));
        // Debt is bounded: ten more charges cost at most one more full period.
        for _ in 0..10 {
            b.charge(rate, T0);
        }
        assert_eq!(b.check(rate, T0), Err(3 * 1800));
    }

    #[test]
    fn zero_capacity_is_no_limit() {
        let rate = Rate::new(0, Duration::minutes(1));
        let mut b = TokenBucket::full(rate, T0);
        for _ in 0..1000 {
            assert_eq!(b.take(rate, T0), Ok(()));
            b.charge(rate, T0);
        }
    }

    #[test]
    fn a_clock_going_back_refills_nothing() {
        let rate = Rate::new(1, Duration::minutes(1));
        let mut b = TokenBucket::full(rate, T0);
        assert_eq!(b.take(rate, T0), Ok(()));
        assert!(b.take(rate, T0 - Duration::hours(1)).is_err());
    }
}
