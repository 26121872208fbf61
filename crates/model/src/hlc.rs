//! Hybrid logical clock: wall-clock milliseconds plus a counter.
//!
//! Versions written on one device are strictly increasing even when the wall clock
//! steps back (NTP, a changed time zone, a dead RTC battery), and a device that sees a
//! version from the future (another device's clock) moves past it, so "newer" keeps
//! meaning "written after" across devices.

use serde::{Deserialize, Serialize};

/// A hybrid logical clock reading.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (at least the wall clock when written).
    pub ms: u64,
    /// Orders readings within the same millisecond.
    pub counter: u32,
}

impl Hlc {
    /// The reading as an RFC 3339 UTC time (milliseconds).
    pub fn to_rfc3339(self) -> String {
        chrono::DateTime::from_timestamp_millis(self.ms as i64)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    }
}

/// The clock of one vault.
#[derive(Debug, Default)]
pub struct Clock {
    last: Hlc,
}

impl Clock {
    /// A clock that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next reading for a new version.
    pub fn tick(&mut self) -> Hlc {
        self.tick_at(wall_ms())
    }

    fn tick_at(&mut self, wall: u64) -> Hlc {
        self.last = if wall > self.last.ms {
            Hlc {
                ms: wall,
                counter: 0,
            }
        } else {
            Hlc {
                ms: self.last.ms,
                counter: self.last.counter.saturating_add(1),
            }
        };
        self.last
    }

    /// Moves the clock past a reading seen in a stored or received version.
    pub fn observe(&mut self, seen: Hlc) {
        if seen > self.last {
            self.last = seen;
        }
    }
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_even_when_the_wall_clock_steps_back() {
        let mut c = Clock::new();
        let a = c.tick_at(1_000);
        let b = c.tick_at(1_000);
        let d = c.tick_at(500);
        let e = c.tick_at(2_000);
        assert!(a < b && b < d && d < e);
        assert_eq!(
            d,
            Hlc {
                ms: 1_000,
                counter: 2
            }
        );
        assert_eq!(
            e,
            Hlc {
                ms: 2_000,
                counter: 0
            }
        );
    }

    #[test]
    fn observing_a_future_reading_moves_past_it() {
        let mut c = Clock::new();
        c.observe(Hlc {
            ms: 9_000,
            counter: 4,
        });
        assert_eq!(
            c.tick_at(1_000),
            Hlc {
                ms: 9_000,
                counter: 5
            }
        );
        c.observe(Hlc { ms: 10, counter: 0 });
        assert_eq!(
            c.tick_at(1_000),
            Hlc {
                ms: 9_000,
                counter: 6
            }
        );
    }

    #[test]
    fn formats_as_utc() {
        assert_eq!(
            Hlc { ms: 0, counter: 0 }.to_rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
    }
}
