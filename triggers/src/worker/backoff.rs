//! Exponential backoff with jitter between attempts of an async execution.

use std::time::Duration;

use rand::Rng;

/// `base_ms · 2^(attempt-1)`, capped at `max_ms`, then scaled by a random factor in [0.5, 1]
/// ("equal jitter") so that executions failing together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: u64,
    pub max_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 1_000,
            max_ms: 10 * 60 * 1_000,
        }
    }
}

impl Backoff {
    /// The wait before the attempt after `attempt` (1-based) failed.
    pub fn delay(&self, attempt: i64) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 32)).unwrap_or(32);
        let ceiling = self
            .base_ms
            .saturating_mul(1u64 << exponent)
            .min(self.max_ms);
        let factor: f64 = rand::rng().random_range(0.5..=1.0);
        Duration::from_millis((ceiling as f64 * factor) as u64)
    }
}

/// The attempt's number within its current budget of attempts (1-based). A re-driven execution keeps
/// numbering its attempts on from the last one (`attempts`), and `max_attempts` grew by one budget,
/// but its backoff starts over from the base. Every budget, at enqueue and at retry, is `budget`
/// (`attempts_max`) attempts; should the setting have changed since, the result is still at least 1.
pub fn attempt_in_budget(attempts: i64, max_attempts: i64, budget: i64) -> i64 {
    attempts
        .saturating_sub(max_attempts.saturating_sub(budget).max(0))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_re_driven_execution_backs_off_from_the_base_again() {
        // First budget of 5: attempts 1..=5 are themselves.
        assert_eq!(attempt_in_budget(1, 5, 5), 1);
        assert_eq!(attempt_in_budget(3, 5, 5), 3);
        // Dead after 5, retried: max 10, attempts 6..=10 count 1..=5 for the backoff.
        assert_eq!(attempt_in_budget(6, 10, 5), 1);
        assert_eq!(attempt_in_budget(8, 10, 5), 3);
        // A budget bigger than the execution's maximum (the setting grew): never below 1.
        assert_eq!(attempt_in_budget(2, 3, 5), 2);
        assert_eq!(attempt_in_budget(0, 10, 5), 1);
    }

    #[test]
    fn grows_exponentially_within_jitter_and_cap() {
        let backoff = Backoff {
            base_ms: 100,
            max_ms: 1_000,
        };
        for _ in 0..100 {
            let first = backoff.delay(1).as_millis();
            assert!((50..=100).contains(&first), "{first}");
            let third = backoff.delay(3).as_millis();
            assert!((200..=400).contains(&third), "{third}");
            let capped = backoff.delay(60).as_millis();
            assert!((500..=1_000).contains(&capped), "{capped}");
        }
    }
}
