//! The live console of containers: every run publishes its console lines here, and a tenant's log
//! stream (`/api/logs/tenant/{container}`) subscribes. Lines are this node's only: a stream shows
//! the runs of the node it is connected to. Nothing is kept: a subscriber sees what runs after it
//! subscribed, and one too slow to keep up misses lines (it is told how many).

use actionflow_runtime::LogLine;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Lines waiting for the slowest subscriber before it starts missing them.
const BACKLOG: usize = 1024;

/// One console line of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleLine {
    pub tenant_id: String,
    pub container: String,
    pub name: String,
    pub level: String,
    pub message: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The broadcast of every container's console lines on this node.
#[derive(Clone)]
pub struct LogHub {
    sender: broadcast::Sender<Arc<ConsoleLine>>,
}

impl Default for LogHub {
    fn default() -> Self {
        LogHub {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl LogHub {
    pub fn publish(&self, tenant_id: &str, container: &str, name: &str, lines: &[LogLine]) {
        if self.sender.receiver_count() == 0 {
            return;
        }
        let at = chrono::Utc::now();
        for line in lines {
            let level = serde_json::to_value(line.level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "log".to_owned());
            let _ = self.sender.send(Arc::new(ConsoleLine {
                tenant_id: tenant_id.to_owned(),
                container: container.to_owned(),
                name: name.to_owned(),
                level,
                message: line.message.clone(),
                at,
            }));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ConsoleLine>> {
        self.sender.subscribe()
    }
}
