//! Live console output: every line an action logs, published as its execution ends, to whoever
//! follows (`GET /v1/actions/{id}/logs/stream`). A slow follower misses lines rather than slowing
//! dispatch down (the channel is bounded and lagging receivers skip ahead).

use std::sync::Arc;

use actionflow_runtime::LogLevel;
use actionflow_store::Timestamp;
use serde::Serialize;
use tokio::sync::broadcast;

/// Lines buffered for followers that have not read them yet.
pub const LIVE_LINES_BUFFERED_MAX: usize = 4_096;

/// One console line of one execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveLog {
    #[serde(skip)]
    pub tenant_id: String,
    pub action_id: String,
    pub version: i64,
    pub trigger_id: String,
    /// The async execution, `None` for a sync dispatch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    pub level: LogLevel,
    pub message: String,
    /// When the line was logged.
    pub at: Timestamp,
}

/// The fan-out point of live logs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LogHub {
    sender: broadcast::Sender<Arc<LiveLog>>,
}

impl Default for LogHub {
    fn default() -> Self {
        LogHub::new(LIVE_LINES_BUFFERED_MAX)
    }
}

impl LogHub {
    pub fn new(buffered_max: usize) -> Self {
        let (sender, _) = broadcast::channel(buffered_max.max(1));
        LogHub { sender }
    }

    /// Whether anyone follows; publishing is skipped (no allocation) when nobody does.
    pub fn is_followed(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    pub fn publish(&self, line: LiveLog) {
        // An error only means nobody is following right now.
        let _ = self.sender.send(Arc::new(line));
    }

    /// Every line published from now on; filter by tenant and action on the receiving side.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveLog>> {
        self.sender.subscribe()
    }
}
