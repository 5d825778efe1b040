//! Hybrid logical clock.
//!
//! A timestamp is `(wall milliseconds, logical counter, node id)`. Ordering is
//! lexicographic on that triple, so two devices that write the same field in
//! the same millisecond are still totally ordered (ties broken by node id, as
//! the design asks). The text form sorts the same way as the value, so it can be
//! compared as a string in SQL.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How far ahead of the local wall clock a received timestamp may be.
///
/// Laptops drift by more than `uhlc`'s 500 ms default; five minutes keeps
/// ordinarily skewed clocks working while refusing timestamps from a clock set
/// days or years ahead, which would otherwise win every later merge.
pub const MAX_DRIFT_MS: u64 = 5 * 60 * 1000;

/// One hybrid-logical-clock timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (the physical part).
    pub millis: u64,
    /// Logical counter within one millisecond.
    pub counter: u32,
    /// The device that made the timestamp; breaks ties.
    pub node: Uuid,
}

/// Errors from parsing or receiving timestamps.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    /// The text is not an HLC timestamp.
    #[error("not a clock timestamp: {0:?} (expected <16 hex>.<8 hex>.<32 hex>)")]
    Malformed(String),
    /// A received timestamp is too far in the future.
    #[error("clock timestamp is {ahead_ms} ms ahead of this machine's clock (limit {limit_ms} ms); check the sending device's date and time")]
    TooFarAhead {
        /// How far ahead it was.
        ahead_ms: u64,
        /// The bound in force.
        limit_ms: u64,
    },
}

impl Hlc {
    /// The smallest timestamp: older than anything a clock makes.
    pub const ZERO: Hlc = Hlc {
        millis: 0,
        counter: 0,
        node: Uuid::nil(),
    };
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:016x}.{:08x}.{}",
            self.millis,
            self.counter,
            self.node.simple()
        )
    }
}

impl FromStr for Hlc {
    type Err = ClockError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ClockError::Malformed(s.chars().take(80).collect());
        let mut parts = s.split('.');
        let (Some(m), Some(c), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if m.len() != 16 || c.len() != 8 || n.len() != 32 {
            return Err(bad());
        }
        Ok(Hlc {
            millis: u64::from_str_radix(m, 16).map_err(|_| bad())?,
            counter: u32::from_str_radix(c, 16).map_err(|_| bad())?,
            node: Uuid::try_parse(n).map_err(|_| bad())?,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A clock for one node. Thread-safe; `now()` is strictly increasing.
#[derive(Debug)]
pub struct Clock {
    node: Uuid,
    last: Mutex<(u64, u32)>,
    wall: fn() -> u64,
}

fn system_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Clock {
    /// A clock for `node` reading the system time.
    pub fn new(node: Uuid) -> Self {
        Self::with_wall(node, system_millis)
    }

    /// A clock with a custom wall-time source (for tests and simulations).
    pub fn with_wall(node: Uuid, wall: fn() -> u64) -> Self {
        Clock {
            node,
            last: Mutex::new((0, 0)),
            wall,
        }
    }

    /// The node this clock stamps with.
    pub fn node(&self) -> Uuid {
        self.node
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, u32)> {
        // The guarded value is two integers that are always valid; a panic
        // elsewhere while holding the lock cannot leave it half-updated.
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new timestamp, greater than every one this clock made or received.
    pub fn now(&self) -> Hlc {
        let wall = (self.wall)();
        let mut last = self.lock();
        let (millis, counter) = if wall > last.0 {
            (wall, 0)
        } else {
            (last.0, last.1.saturating_add(1))
        };
        *last = (millis, counter);
        Hlc {
            millis,
            counter,
            node: self.node,
        }
    }

    /// Order later stamps after `seen`, a stamp this node already holds
    /// (one stored on a row it is about to change): unbounded, since it was
    /// accepted when it arrived. A node whose clock ran fast and was set
    /// back, or a process started after it pulled a fast node's stamp,
    /// still stamps each change after what the row shows.
    pub fn advance_past(&self, seen: Hlc) {
        let mut last = self.lock();
        if (seen.millis, seen.counter) > *last {
            *last = (seen.millis, seen.counter);
        }
    }

    /// Merge a timestamp received from another node, so later local stamps
    /// order after it. Refuses timestamps more than [`MAX_DRIFT_MS`] ahead.
    pub fn observe(&self, remote: Hlc) -> Result<(), ClockError> {
        let wall = (self.wall)();
        if remote.millis > wall + MAX_DRIFT_MS {
            return Err(ClockError::TooFarAhead {
                ahead_ms: remote.millis - wall,
                limit_ms: MAX_DRIFT_MS,
            });
        }
        let mut last = self.lock();
        if (remote.millis, remote.counter) > *last {
            *last = (remote.millis, remote.counter);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frozen() -> u64 {
        1_700_000_000_000
    }

    #[test]
    fn now_is_strictly_increasing_even_when_the_wall_clock_stands_still() {
        let c = Clock::with_wall(Uuid::now_v7(), frozen);
        let a = c.now();
        let b = c.now();
        assert!(b > a);
        assert_eq!(b.counter, a.counter + 1);
    }

    #[test]
    fn observing_a_later_remote_stamp_moves_the_clock_past_it() {
        let c = Clock::with_wall(Uuid::now_v7(), frozen);
        let remote = Hlc {
            millis: frozen() + 1000,
            counter: 7,
            node: Uuid::now_v7(),
        };
        c.observe(remote).expect("within drift");
        let next = c.now();
        assert!(next > remote, "{next} should order after {remote}");
    }

    #[test]
    fn far_future_stamps_are_refused() {
        let c = Clock::with_wall(Uuid::now_v7(), frozen);
        let remote = Hlc {
            millis: frozen() + MAX_DRIFT_MS + 1,
            counter: 0,
            node: Uuid::now_v7(),
        };
        assert!(matches!(
            c.observe(remote),
            Err(ClockError::TooFarAhead { .. })
        ));
    }

    #[test]
    fn malformed_text_is_refused_with_the_text() {
        let e = "12.34".parse::<Hlc>().unwrap_err();
        assert!(e.to_string().contains("12.34"));
        assert!("zzzzzzzzzzzzzzzz.00000000.00000000000000000000000000000000"
            .parse::<Hlc>()
            .is_err());
    }

    proptest! {
        #[test]
        fn text_form_round_trips_and_sorts_like_the_value(
            m1 in 0u64..u64::MAX, c1 in any::<u32>(), n1 in any::<u128>(),
            m2 in 0u64..u64::MAX, c2 in any::<u32>(), n2 in any::<u128>(),
        ) {
            let a = Hlc { millis: m1, counter: c1, node: Uuid::from_u128(n1) };
            let b = Hlc { millis: m2, counter: c2, node: Uuid::from_u128(n2) };
            prop_assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
            prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
        }
    }
}
