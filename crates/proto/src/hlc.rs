//! The hybrid logical clock that orders operations across devices: wall-clock milliseconds
//! where the clocks agree, a counter where they do not, and never backwards.
//!
//! Kulkarni et al., "Logical Physical Clocks" (2014): each event takes
//! `max(last.wall, now)`, bumping the counter when the wall part did not move. A device's last
//! value is persisted (it is the newest operation in its log), so the clock stays monotonic
//! across restarts and across the wall clock being set back. Values from other devices are
//! merged with [`Hlc::observe`], which refuses a value too far in the future so one device
//! with a wrong date cannot drag everyone's clock years ahead.

use crate::canon::{Canon, DecodeError, Reader, Writer};

/// How far ahead of our own wall clock a received value may be (one day: generous for
/// laptops whose clocks drift while offline, small against a date set years wrong).
pub const MAX_FORWARD_SKEW_MS: u64 = 24 * 60 * 60 * 1000;

/// A hybrid logical clock value. Ordered by wall time, then counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (the largest wall time seen).
    pub wall_ms: u64,
    /// Events at that wall time, for ordering within one millisecond or while a clock lags.
    pub counter: u32,
}

/// A received clock value is further ahead of ours than [`MAX_FORWARD_SKEW_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("clock value is {ahead_ms} ms ahead of this device's clock")]
pub struct ClockSkew {
    /// How far ahead it is.
    pub ahead_ms: u64,
}

impl Hlc {
    /// The value before any event.
    pub const ZERO: Self = Self {
        wall_ms: 0,
        counter: 0,
    };

    /// The value for a new local event, given the last value and the wall clock now.
    #[must_use]
    pub fn tick(self, now_ms: u64) -> Self {
        if now_ms > self.wall_ms {
            Self {
                wall_ms: now_ms,
                counter: 0,
            }
        } else {
            self.bump()
        }
    }

    /// Merges a value received from another device, for the next local event.
    pub fn observe(self, remote: Self, now_ms: u64) -> Result<Self, ClockSkew> {
        let limit = now_ms.saturating_add(MAX_FORWARD_SKEW_MS);
        if remote.wall_ms > limit {
            return Err(ClockSkew {
                ahead_ms: remote.wall_ms - now_ms,
            });
        }
        let wall = self.wall_ms.max(remote.wall_ms).max(now_ms);
        Ok(
            if wall == now_ms && wall > self.wall_ms && wall > remote.wall_ms {
                Self {
                    wall_ms: wall,
                    counter: 0,
                }
            } else {
                let counter = match (wall == self.wall_ms, wall == remote.wall_ms) {
                    (true, true) => self.counter.max(remote.counter),
                    (true, false) => self.counter,
                    (false, true) => remote.counter,
                    (false, false) => 0,
                };
                Self {
                    wall_ms: wall,
                    counter,
                }
                .bump()
            },
        )
    }

    /// The next value at the same wall time; a full counter moves to the next millisecond.
    fn bump(self) -> Self {
        match self.counter.checked_add(1) {
            Some(counter) => Self {
                wall_ms: self.wall_ms,
                counter,
            },
            None => Self {
                wall_ms: self.wall_ms.saturating_add(1),
                counter: 0,
            },
        }
    }
}

impl Canon for Hlc {
    fn encode(&self, w: &mut Writer) {
        self.wall_ms.encode(w);
        self.counter.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            wall_ms: u64::decode(r)?,
            counter: u32::decode(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn hlc(wall_ms: u64, counter: u32) -> Hlc {
        Hlc { wall_ms, counter }
    }

    #[test]
    fn tick_follows_the_wall_clock_and_never_goes_back() {
        let t = 1_764_000_000_000;
        assert_eq!(Hlc::ZERO.tick(t), hlc(t, 0));
        assert_eq!(hlc(t, 0).tick(t), hlc(t, 1));
        // The wall clock was set back an hour: the clock keeps counting from where it was.
        assert_eq!(hlc(t, 1).tick(t - 3_600_000), hlc(t, 2));
        assert_eq!(hlc(t, 2).tick(t + 1000), hlc(t + 1000, 0));
        assert_eq!(hlc(5, u32::MAX).tick(5), hlc(6, 0));
    }

    #[test]
    fn observe_is_after_both_inputs() {
        let cases = [
            (hlc(10, 3), hlc(20, 7), 15, hlc(20, 8)),
            (hlc(20, 7), hlc(10, 3), 15, hlc(20, 8)),
            (hlc(20, 7), hlc(20, 9), 15, hlc(20, 10)),
            (hlc(10, 3), hlc(12, 1), 30, hlc(30, 0)),
            (hlc(30, 2), hlc(30, 2), 30, hlc(30, 3)),
        ];
        for (local, remote, now, expected) in cases {
            let got = local.observe(remote, now).unwrap();
            assert_eq!(got, expected, "{local:?} {remote:?} {now}");
            assert!(got > local && got > remote);
        }
    }

    #[test]
    fn a_value_from_far_in_the_future_is_refused() {
        let now = 1_000_000;
        let remote = hlc(now + MAX_FORWARD_SKEW_MS + 1, 0);
        assert_eq!(
            Hlc::ZERO.observe(remote, now),
            Err(ClockSkew {
                ahead_ms: MAX_FORWARD_SKEW_MS + 1
            })
        );
        assert!(
            Hlc::ZERO
                .observe(hlc(now + MAX_FORWARD_SKEW_MS, 0), now)
                .is_ok()
        );
    }
}
