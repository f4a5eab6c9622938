//! When to try a failing stream again, and when to give up on it (suspend): plain functions.

use std::time::Duration;

use actionflow_store::Timestamp;
use rand::Rng;

/// How long a `Retry-After` may hold a stream back.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

/// The wait before attempt `failures + 1`: exponential from `base`, capped at `max`, with full
/// jitter over its upper half (so streams failing together do not retry together); at least the
/// endpoint's `Retry-After` (capped at [`RETRY_AFTER_MAX`]).
pub fn delay(
    failures: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = base
        .saturating_mul(2u32.saturating_pow(failures.min(30)))
        .min(max);
    let half = exp / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis().min(u128::from(u64::MAX)) as u64);
    let wait = half + Duration::from_millis(jitter);
    match retry_after {
        Some(after) => wait.max(after.min(RETRY_AFTER_MAX)),
        None => wait,
    }
}

/// Why the stream is suspended now, if it is: the endpoint answered 410 Gone, or the stream has
/// been failing since `failing_since` for at least `suspend_after`.
pub fn suspension(
    status: Option<u16>,
    failing_since: Option<Timestamp>,
    now: Timestamp,
    suspend_after: Duration,
) -> Option<String> {
    if status == Some(410) {
        return Some("the endpoint answered 410 Gone".to_owned());
    }
    let since = failing_since?;
    let failing = (now - since).to_std().unwrap_or_default();
    (failing >= suspend_after).then(|| {
        format!(
            "failing since {} (longer than {} s)",
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            suspend_after.as_secs()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_with_jitter_capped_and_retry_after_honoured() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        for failures in 0..10 {
            let d = delay(failures, base, max, None);
            let exp = base.saturating_mul(1 << failures).min(max);
            assert!(d >= exp / 2 && d <= exp, "{failures}: {d:?}");
        }
        let d = delay(0, base, max, Some(Duration::from_secs(120)));
        assert_eq!(d, Duration::from_secs(120));
        let d = delay(0, base, max, Some(Duration::from_secs(100_000)));
        assert_eq!(d, RETRY_AFTER_MAX);
    }

    #[test]
    fn suspended_on_410_or_after_failing_long_enough() {
        let now = chrono::Utc::now();
        let week = Duration::from_secs(7 * 86400);
        assert!(suspension(Some(410), None, now, week).is_some());
        assert!(suspension(Some(500), None, now, week).is_none());
        let recent = now - chrono::TimeDelta::days(6);
        assert!(suspension(Some(500), Some(recent), now, week).is_none());
        let old = now - chrono::TimeDelta::days(8);
        assert!(suspension(None, Some(old), now, week).is_some());
    }
}
