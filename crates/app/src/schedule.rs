//! When the desktop's background sync runs: a first sync soon after unlock, enrollment or
//! resuming (5–20 s), then every interval ± 20 %, never while sync is inactive (locked,
//! not enrolled, paused). Pure decisions on clock readings and a random fraction, so
//! that they are tested without waiting; the shell's scheduler thread sleeps and syncs.

use std::time::{Duration, Instant};

/// The first sync after unlock, enrollment or resuming comes this soon (seconds).
pub const SOON: (f64, f64) = (5.0, 20.0);
/// A scheduled sync comes every interval, give or take this fraction of it.
pub const JITTER: f64 = 0.2;
/// Why the scheduler was woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// Unlocked, or just enrolled: sync soon.
    Soon,
    /// The sync settings changed (interval, pause, route), or a sync ran: plan again.
    Settings,
}

/// The delay before the first sync (`SOON`), for a random fraction `r`.
pub fn soon(r: f64) -> Duration {
    Duration::from_secs_f64(SOON.0 + (SOON.1 - SOON.0) * r)
}

/// The interval with its jitter, for a random fraction `r`: interval × (0.8 … 1.2).
pub fn jittered(interval: Duration, r: f64) -> Duration {
    interval.mul_f64(1.0 - JITTER + 2.0 * JITTER * r)
}

/// When the next scheduled sync is due: `None` while sync is inactive (locked, not
/// enrolled or paused).
pub fn plan_next(
    now: Instant,
    active: bool,
    next: Option<Instant>,
    last_run: Option<Instant>,
    kick: Option<Kick>,
    interval: Duration,
    r: f64,
) -> Option<Instant> {
    if !active {
        return None;
    }
    match (kick, next) {
        // Just unlocked or enrolled, or active again (resumed, or the first turn).
        (Some(Kick::Soon), _) | (_, None) => Some(now + soon(r)),
        // New settings, or a sync that ran: the next turn counts from the last sync.
        (Some(Kick::Settings), Some(_)) => {
            Some(last_run.map_or(now + soon(r), |t| t + jittered(interval, r)))
        }
        (None, Some(n)) => Some(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn nothing_is_scheduled_while_inactive() {
        let now = Instant::now();
        for kick in [None, Some(Kick::Soon), Some(Kick::Settings)] {
            assert_eq!(
                plan_next(now, false, Some(now), Some(now), kick, MIN, 0.5),
                None
            );
        }
    }

    #[test]
    fn the_first_sync_comes_soon_after_unlock_or_resume() {
        let now = Instant::now();
        let later = now + 10 * MIN;
        for r in [0.0, 0.5, 0.999] {
            // Unlocked: whatever was planned before.
            let n = plan_next(now, true, Some(later), None, Some(Kick::Soon), MIN, r).unwrap();
            assert!(n >= now + Duration::from_secs(5) && n <= now + Duration::from_secs(20));
            // Active again (nothing planned): soon, even with a last run long ago.
            let n = plan_next(now, true, None, Some(now), None, 15 * MIN, r).unwrap();
            assert!(n <= now + Duration::from_secs(20));
        }
    }

    #[test]
    fn later_syncs_follow_the_interval_with_jitter() {
        let now = Instant::now();
        let ran = now - MIN;
        let planned = now + 5 * MIN;
        // Nothing new: the plan stands.
        assert_eq!(
            plan_next(now, true, Some(planned), Some(ran), None, 15 * MIN, 0.3),
            Some(planned)
        );
        // A sync ran, or the interval changed: from the last sync, ±20 %.
        let lo = plan_next(
            now,
            true,
            Some(planned),
            Some(ran),
            Some(Kick::Settings),
            10 * MIN,
            0.0,
        );
        let hi = plan_next(
            now,
            true,
            Some(planned),
            Some(ran),
            Some(Kick::Settings),
            10 * MIN,
            0.999_999,
        );
        assert_eq!(lo, Some(ran + 8 * MIN));
        let hi = hi.unwrap();
        assert!(hi > ran + 11 * MIN && hi <= ran + 12 * MIN);
    }
}
