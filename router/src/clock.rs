//! Wall-clock time read from the monotonic clock, for executors that already read the
//! monotonic clock when a run starts and ends: an activation record needs wall-clock times,
//! and a clock read is a noticeable share of a warm in-process invoke.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

/// Wall-clock times derived from [`Instant`]s through an anchor (one reading of both clocks)
/// taken again once it is a second old, so that a change of the system's clock shows within
/// a second. One thread's: `!Sync`.
pub struct WallClock {
    anchor: Cell<(Instant, SystemTime)>,
}

impl WallClock {
    /// How long an anchor is used before both clocks are read again.
    const REANCHOR: Duration = Duration::from_secs(1);

    pub fn new() -> Self {
        Self::anchored(Instant::now(), SystemTime::now())
    }

    /// A clock whose anchor says that `mono` was `wall`.
    pub fn anchored(mono: Instant, wall: SystemTime) -> Self {
        WallClock {
            anchor: Cell::new((mono, wall)),
        }
    }

    /// The wall-clock time at `now` (an instant read just before): the anchor's time plus
    /// the time since, or, when the anchor is a second old (or `now` precedes it), the
    /// system clock read now, which becomes the new anchor.
    pub fn at(&self, now: Instant) -> SystemTime {
        let (mono, wall) = self.anchor.get();
        match now.checked_duration_since(mono) {
            Some(since) if since < Self::REANCHOR => wall + since,
            _ => {
                let wall = SystemTime::now();
                self.anchor.set((now, wall));
                wall
            }
        }
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_within_a_second_of_the_anchor_follow_it_and_later_ones_read_the_system_clock() {
        let mono = Instant::now();
        let clock = WallClock::anchored(mono, SystemTime::UNIX_EPOCH);
        let soon = mono + Duration::from_millis(5);
        assert_eq!(
            clock.at(soon),
            SystemTime::UNIX_EPOCH + Duration::from_millis(5)
        );
        // A second on, the system clock is read (and is far from 1970).
        let later = mono + Duration::from_secs(2);
        let read = clock.at(later);
        assert!(read > SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 30));
        // …and anchors what follows.
        let after = later + Duration::from_millis(3);
        assert_eq!(clock.at(after), read + Duration::from_millis(3));
        // An instant before the anchor reads the system clock too.
        assert!(clock.at(mono) > SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 30));
    }
}
