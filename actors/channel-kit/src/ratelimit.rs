//! A token bucket per connection, kept in the connection's session.
//!
//! Each request takes a token; tokens come back at `per_second` up to `burst`. A channel that
//! switches it on stores the [`Bucket`] in its session data and answers a refusal with its
//! protocol's own "slow down" error, carrying how long until the next token.

use serde::{Deserialize, Serialize};

/// How many requests a connection may make. `per_second == 0` turns limiting off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub per_second: f64,
    pub burst: f64,
}

impl Limit {
    pub const OFF: Limit = Limit {
        per_second: 0.0,
        burst: 0.0,
    };

    pub fn is_off(&self) -> bool {
        self.per_second <= 0.0
    }

    /// Reads `per_second` and `burst` settings (burst defaults to one second's worth, and at
    /// least 1). Unset, unreadable or non-positive values mean off.
    pub fn from_settings(per_second: Option<String>, burst: Option<String>) -> Limit {
        let parse = |v: Option<String>| v.and_then(|v| v.trim().parse::<f64>().ok());
        match parse(per_second) {
            Some(rate) if rate.is_finite() && rate > 0.0 => Limit {
                per_second: rate,
                burst: parse(burst)
                    .filter(|b| b.is_finite() && *b >= 1.0)
                    .unwrap_or(rate.max(1.0)),
            },
            _ => Limit::OFF,
        }
    }
}

/// One connection's bucket: tokens left at `at_ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub tokens: f64,
    pub at_ms: u64,
}

impl Bucket {
    /// Takes a token at `now_ms`: `Ok` if there was one, else `Err(ms)` until there will be.
    /// A fresh (default) bucket starts full.
    pub fn take(&mut self, limit: Limit, now_ms: u64) -> Result<(), u64> {
        if limit.is_off() {
            return Ok(());
        }
        if self.at_ms == 0 {
            self.tokens = limit.burst;
        } else {
            let elapsed = now_ms.saturating_sub(self.at_ms) as f64 / 1000.0;
            self.tokens = (self.tokens + elapsed * limit.per_second).min(limit.burst);
        }
        self.at_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / limit.per_second * 1000.0;
            Err(wait.ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PER_SECOND: Limit = Limit {
        per_second: 2.0,
        burst: 2.0,
    };

    #[test]
    fn a_burst_then_the_rate() {
        let mut bucket = Bucket::default();
        assert_eq!(bucket.take(TWO_PER_SECOND, 1_000), Ok(()));
        assert_eq!(bucket.take(TWO_PER_SECOND, 1_000), Ok(()));
        assert_eq!(bucket.take(TWO_PER_SECOND, 1_000), Err(500));
        assert_eq!(bucket.take(TWO_PER_SECOND, 1_250), Err(250));
        assert_eq!(bucket.take(TWO_PER_SECOND, 1_500), Ok(()));
        // A long pause refills only up to the burst.
        assert_eq!(bucket.take(TWO_PER_SECOND, 60_000), Ok(()));
        assert_eq!(bucket.take(TWO_PER_SECOND, 60_000), Ok(()));
        assert!(bucket.take(TWO_PER_SECOND, 60_000).is_err());
    }

    #[test]
    fn off_never_refuses() {
        let mut bucket = Bucket::default();
        for _ in 0..1000 {
            assert_eq!(bucket.take(Limit::OFF, 5), Ok(()));
        }
    }

    #[test]
    fn settings() {
        let s = |v: &str| Some(v.to_owned());
        assert!(Limit::from_settings(None, None).is_off());
        assert!(Limit::from_settings(s("0"), s("5")).is_off());
        assert!(Limit::from_settings(s("fast"), None).is_off());
        assert_eq!(
            Limit::from_settings(s("5"), None),
            Limit {
                per_second: 5.0,
                burst: 5.0
            }
        );
        assert_eq!(Limit::from_settings(s("0.5"), s("3")).burst, 3.0);
        assert_eq!(Limit::from_settings(s("0.5"), None).burst, 1.0);
    }
}
