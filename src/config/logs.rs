//! Settings of the tenant log in `actionflow serve`: how long events are kept and when a failing
//! log stream is suspended; in the config file, the `[logs]` table.

use std::time::Duration;

use actionflow_server::LogSettings;
use serde::{Deserialize, Serialize};

use crate::BadInput;

/// Flags of `actionflow serve` about the tenant log; in the config file, the `[logs]` table.
#[serde_with::skip_serializing_none]
#[derive(clap::Args, Deserialize, Serialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct LogArgs {
    /// Days the tenant log keeps events before the background purge deletes them [default: 30].
    #[arg(long, env = "ACTIONFLOW_LOG_RETENTION_DAYS")]
    pub log_retention_days: Option<u32>,
    /// How long a log stream may fail without a success before it is suspended, e.g. `7d`, `12h`,
    /// `90m`, `30s` [default: 7d].
    #[arg(long, env = "ACTIONFLOW_LOG_STREAM_SUSPEND_AFTER")]
    pub log_stream_suspend_after: Option<String>,
}

impl LogArgs {
    /// Sets what is given onto `logs` (the defaults); a value out of range is one readable line.
    pub fn apply(self, logs: &mut LogSettings) -> Result<(), BadInput> {
        if let Some(days) = self.log_retention_days {
            if days == 0 {
                return Err(BadInput("--log-retention-days must be at least 1".into()));
            }
            logs.retention = Duration::from_secs(u64::from(days) * 86400);
        }
        if let Some(text) = self.log_stream_suspend_after {
            logs.suspend_after = parse_duration(&text).ok_or_else(|| {
                BadInput(format!(
                    "--log-stream-suspend-after: {text:?} is not a duration like 7d, 12h, 90m or 30s"
                ))
            })?;
        }
        Ok(())
    }
}

/// `7d`, `12h`, `90m`, `30s` (or plain seconds); never zero.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_defaults_and_refusals() {
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604800)));
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        for bad in ["", "0s", "7w", "d", "-1h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        let mut logs = LogSettings::default();
        assert!(LogArgs::default().apply(&mut logs).is_ok());
        assert_eq!(logs.retention, Duration::from_secs(30 * 86400));
        let zero = LogArgs {
            log_retention_days: Some(0),
            ..LogArgs::default()
        };
        assert!(zero.apply(&mut logs).is_err());
        let bad = LogArgs {
            log_stream_suspend_after: Some("soon".into()),
            ..LogArgs::default()
        };
        let error = bad.apply(&mut logs).err().map(|e| e.0);
        assert!(error.is_some_and(|e| e.contains("--log-stream-suspend-after")));
    }
}
