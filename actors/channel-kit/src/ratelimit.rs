//! A token bucket per connection, kept in the connection's session.
//!
//! Each request takes a token; tokens come back at `per_second` up to `burst`. Every channel
//! reads its [`Limit`] with [`Limit::from_settings`] (on by default), stores the [`Bucket`] in
//! its session data and answers a refusal with its protocol's own "slow down" error, carrying
//! how long until the next token where the protocol has a place for it. Keep-alives take no
//! token: a quiet client must never be refused for staying connected.

use serde::{Deserialize, Serialize};

use crate::backend::Backend;

/// Setting: tokens per second per connection; `0` turns limiting off.
pub const RATE_LIMIT_KEY: &str = "rate_limit_per_second";
/// Setting: the most tokens a connection can save up (requests at once after a pause).
pub const RATE_BURST_KEY: &str = "rate_limit_burst";

/// How much of a burst an unset `rate_limit_burst` allows: this many seconds' worth of the rate.
pub const DEFAULT_BURST_SECONDS: f64 = 3.0;

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

    /// What a channel gets when its config says nothing. A person makes a few requests a
    /// second at most (a message, a typing notification each second, a reaction); the
    /// biggest bursts of real clients are automatic: catching up after sign-in (subscribing
    /// and fetching several rooms at once) and, in Rebuttal, the WebRTC signalling of joining
    /// a voice room (an offer or answer and a handful of ICE candidates per peer, some 60 in a
    /// second or two with ten peers). 20 a second with a burst of 60 leaves that room to
    /// spare, while a client flooding the core is held to 20 requests a second within three
    /// seconds.
    pub const DEFAULT: Limit = Limit {
        per_second: 20.0,
        burst: 20.0 * DEFAULT_BURST_SECONDS,
    };

    pub fn is_off(&self) -> bool {
        self.per_second <= 0.0
    }

    /// The limit a channel's config asks for: [`RATE_LIMIT_KEY`] and [`RATE_BURST_KEY`],
    /// read as [`Limit::parse`] reads them. The one place every channel reads them.
    pub fn from_settings(backend: &impl Backend) -> Limit {
        Limit::parse(
            backend.setting(RATE_LIMIT_KEY).as_deref(),
            backend.setting(RATE_BURST_KEY).as_deref(),
        )
    }

    /// Reads a rate and a burst setting. The rate: `0` is off; unset, empty or not a number
    /// `>= 0` is the default rate, so a typo never switches protection off. The burst: unset,
    /// unreadable or below 1 is [`DEFAULT_BURST_SECONDS`] of the rate (at least 1).
    pub fn parse(per_second: Option<&str>, burst: Option<&str>) -> Limit {
        let number = |v: Option<&str>| {
            v.and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|n| n.is_finite())
        };
        let rate = match number(per_second) {
            Some(0.0) => return Limit::OFF,
            Some(rate) if rate > 0.0 => rate,
            _ => Limit::DEFAULT.per_second,
        };
        Limit {
            per_second: rate,
            burst: number(burst)
                .filter(|b| *b >= 1.0)
                .unwrap_or((rate * DEFAULT_BURST_SECONDS).max(1.0)),
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
    fn unset_settings_are_the_default_and_zero_is_off() {
        assert_eq!(Limit::parse(None, None), Limit::DEFAULT);
        assert_eq!(Limit::parse(Some(""), Some(" ")), Limit::DEFAULT);
        assert!(!Limit::DEFAULT.is_off());
        assert_eq!(Limit::DEFAULT.burst, 60.0);
        assert_eq!(Limit::parse(Some("0"), Some("5")), Limit::OFF);
        assert_eq!(Limit::parse(Some(" 0.0 "), None), Limit::OFF);
    }

    #[test]
    fn unreadable_rates_keep_the_default_rate() {
        for typo in ["fast", "-1", "NaN", "inf", "1e999"] {
            assert_eq!(Limit::parse(Some(typo), None), Limit::DEFAULT, "{typo}");
        }
        // A burst of its own still counts.
        assert_eq!(Limit::parse(Some("fast"), Some("7")).burst, 7.0);
    }

    #[test]
    fn the_burst_defaults_to_three_seconds_of_the_rate() {
        assert_eq!(
            Limit::parse(Some("5"), None),
            Limit {
                per_second: 5.0,
                burst: 15.0
            }
        );
        assert_eq!(Limit::parse(Some("0.5"), Some("3")).burst, 3.0);
        assert_eq!(Limit::parse(Some("0.2"), None).burst, 1.0);
        for unusable in ["0", "0.5", "many", "-4"] {
            assert_eq!(Limit::parse(Some("5"), Some(unusable)).burst, 15.0);
        }
    }

    #[test]
    fn the_default_lets_a_burst_through_then_holds_to_the_rate() {
        let mut bucket = Bucket::default();
        let now = 1_700_000_000_000;
        for _ in 0..60 {
            assert_eq!(bucket.take(Limit::DEFAULT, now), Ok(()));
        }
        assert_eq!(bucket.take(Limit::DEFAULT, now), Err(50));
        assert_eq!(bucket.take(Limit::DEFAULT, now + 50), Ok(()));
    }

    /// The keys every channel's config uses, read through a real [`Backend`].
    #[cfg(feature = "core")]
    #[test]
    fn from_settings_reads_the_channel_config() {
        let backend = crate::core::CoreBackend::new();
        assert_eq!(Limit::from_settings(&backend), Limit::DEFAULT);
        backend.set_setting(RATE_LIMIT_KEY, "4");
        assert_eq!(
            Limit::from_settings(&backend),
            Limit {
                per_second: 4.0,
                burst: 12.0
            }
        );
        backend.set_setting(RATE_BURST_KEY, "9");
        assert_eq!(Limit::from_settings(&backend).burst, 9.0);
        backend.set_setting(RATE_LIMIT_KEY, "0");
        assert!(Limit::from_settings(&backend).is_off());
    }
}
