//! The live console of containers: every run publishes its console lines here, and a tenant's log
//! stream (`/api/logs/tenant/{container}`) subscribes. Nodes that share a PostgreSQL database pass
//! their lines to each other (`NOTIFY` on one channel, batched every 50 ms), so a stream shows the
//! runs of every node; on SQLite there is one node. Nothing is kept: a subscriber sees what runs
//! after it subscribed, and one too slow to keep up misses lines (it is told how many). What other
//! nodes get is bounded: a message is cut to [`REMOTE_MESSAGE_BYTES_MAX`], and when lines come
//! faster than the database takes them the newest are dropped and counted
//! ([`LogHub::lines_not_sent`]).

use actionflow_runtime::LogLine;
use actionflow_store::{Store, NODE_MESSAGE_BYTES_MAX};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Lines waiting for the slowest subscriber before it starts missing them.
const BACKLOG: usize = 1024;
/// Lines waiting to go to the other nodes before the newest are dropped.
const OUTBOUND_BACKLOG: usize = 4096;
/// The database channel of the console.
const CHANNEL: &str = "actionflow_console";
/// How long lines gather before they go to the other nodes together.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// Messages sent per batch at most: beyond, lines wait for the next batch (and the backlog fills).
const MESSAGES_PER_BATCH_MAX: usize = 8;
/// The part of a console line's message other nodes get.
pub const REMOTE_MESSAGE_BYTES_MAX: usize = 2048;

/// One console line of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleLine {
    pub tenant_id: String,
    pub container: String,
    pub name: String,
    pub level: String,
    pub message: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What one node sends the others.
#[derive(Serialize, Deserialize)]
struct Batch {
    node: String,
    lines: Vec<ConsoleLine>,
}

/// The broadcast of every container's console lines, this node's and (once connected) the other
/// nodes'.
#[derive(Clone)]
pub struct LogHub {
    sender: broadcast::Sender<Arc<ConsoleLine>>,
    node: Arc<str>,
    outbound: Arc<OnceLock<mpsc::Sender<Arc<ConsoleLine>>>>,
    not_sent: Arc<AtomicU64>,
}

impl Default for LogHub {
    fn default() -> Self {
        LogHub {
            sender: broadcast::channel(BACKLOG).0,
            node: actionflow_store::new_id().into(),
            outbound: Arc::default(),
            not_sent: Arc::default(),
        }
    }
}

impl LogHub {
    pub fn publish(&self, tenant_id: &str, container: &str, name: &str, lines: &[LogLine]) {
        let outbound = self.outbound.get();
        if self.sender.receiver_count() == 0 && outbound.is_none() {
            return;
        }
        let at = chrono::Utc::now();
        for line in lines {
            let level = serde_json::to_value(line.level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "log".to_owned());
            let line = Arc::new(ConsoleLine {
                tenant_id: tenant_id.to_owned(),
                container: container.to_owned(),
                name: name.to_owned(),
                level,
                message: line.message.clone(),
                at,
            });
            if let Some(outbound) = outbound {
                if outbound.try_send(line.clone()).is_err() {
                    self.not_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = self.sender.send(line);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ConsoleLine>> {
        self.sender.subscribe()
    }

    /// Lines this node dropped instead of passing them to the other nodes (the database took
    /// them slower than runs made them).
    pub fn lines_not_sent(&self) -> u64 {
        self.not_sent.load(Ordering::Relaxed)
    }

    /// Passes lines to and from the other nodes on `store`'s database, until every clone of this
    /// hub is dropped. Nothing to do on SQLite. Called once; later calls do nothing.
    pub async fn connect(&self, store: Arc<dyn Store>) -> actionflow_store::Result<()> {
        if self.outbound.get().is_some() {
            return Ok(());
        }
        let Some(inbound) = store.listen_to_nodes(CHANNEL).await? else {
            return Ok(());
        };
        let (tx, rx) = mpsc::channel(OUTBOUND_BACKLOG);
        let weak = tx.downgrade();
        if self.outbound.set(tx).is_err() {
            return Ok(());
        }
        tokio::spawn(receive(
            inbound,
            self.sender.clone(),
            self.node.clone(),
            weak,
        ));
        tokio::spawn(send(rx, store, self.node.clone()));
        Ok(())
    }
}

/// Hands the other nodes' lines to this node's subscribers while the hub lives.
async fn receive(
    mut inbound: mpsc::Receiver<String>,
    sender: broadcast::Sender<Arc<ConsoleLine>>,
    node: Arc<str>,
    alive: mpsc::WeakSender<Arc<ConsoleLine>>,
) {
    let mut check = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            payload = inbound.recv() => {
                let Some(payload) = payload else { return };
                let Ok(batch) = serde_json::from_str::<Batch>(&payload) else { continue };
                if *batch.node == *node || sender.receiver_count() == 0 {
                    continue;
                }
                for line in batch.lines {
                    let _ = sender.send(Arc::new(line));
                }
            }
            _ = check.tick() => {
                if alive.upgrade().is_none() {
                    return;
                }
            }
        }
    }
}

/// Sends this node's lines to the others in batches, until the hub is dropped.
async fn send(
    mut outbound: mpsc::Receiver<Arc<ConsoleLine>>,
    store: Arc<dyn Store>,
    node: Arc<str>,
) {
    let mut lines = Vec::new();
    while outbound.recv_many(&mut lines, OUTBOUND_BACKLOG).await > 0 {
        tokio::time::sleep(BATCH_WAIT).await;
        while let Ok(line) = outbound.try_recv() {
            lines.push(line);
        }
        for payload in payloads(&node, &lines)
            .into_iter()
            .take(MESSAGES_PER_BATCH_MAX)
        {
            if let Err(error) = store.send_to_nodes(CHANNEL, &payload).await {
                tracing::warn!(%error, "sending console lines to the other nodes");
            }
        }
        lines.clear();
    }
}

/// `lines` as messages of at most [`NODE_MESSAGE_BYTES_MAX`] bytes, each message cut to
/// [`REMOTE_MESSAGE_BYTES_MAX`].
fn payloads(node: &str, lines: &[Arc<ConsoleLine>]) -> Vec<String> {
    let mut out = Vec::new();
    let mut batch = Batch {
        node: node.to_owned(),
        lines: Vec::new(),
    };
    let mut size = 64 + node.len();
    for line in lines {
        let mut line = ConsoleLine::clone(line);
        crate::cut_to(&mut line.message, REMOTE_MESSAGE_BYTES_MAX);
        // Escapes can make a cut message longer than one notification: cut it further.
        let mut bytes = serde_json::to_string(&line).map_or(0, |s| s.len()) + 1;
        while bytes + 128 + node.len() > NODE_MESSAGE_BYTES_MAX {
            let half = line.message.len() / 2;
            crate::cut_to(&mut line.message, half);
            bytes = serde_json::to_string(&line).map_or(0, |s| s.len()) + 1;
        }
        if size + bytes > NODE_MESSAGE_BYTES_MAX && !batch.lines.is_empty() {
            out.extend(serde_json::to_string(&batch).ok());
            batch.lines.clear();
            size = 64 + node.len();
        }
        size += bytes;
        batch.lines.push(line);
    }
    if !batch.lines.is_empty() {
        out.extend(serde_json::to_string(&batch).ok());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(message: &str) -> Arc<ConsoleLine> {
        Arc::new(ConsoleLine {
            tenant_id: "t".into(),
            container: "c".into(),
            name: "n".into(),
            level: "log".into(),
            message: message.into(),
            at: chrono::Utc::now(),
        })
    }

    #[test]
    fn payloads_fit_a_notification_and_cut_long_messages() {
        let long = "é".repeat(5_000);
        let escaped = "\u{1}".repeat(3_000);
        let lines: Vec<_> = (0..40)
            .map(|i| {
                line(if i % 2 == 0 {
                    &long
                } else if i % 3 == 0 {
                    &escaped
                } else {
                    "short"
                })
            })
            .collect();
        let payloads = payloads("node-1", &lines);
        assert!(payloads.len() > 1);
        let mut seen = 0;
        for p in &payloads {
            assert!(p.len() <= NODE_MESSAGE_BYTES_MAX, "{}", p.len());
            let batch: Batch = serde_json::from_str(p).unwrap();
            assert_eq!(batch.node, "node-1");
            for l in &batch.lines {
                assert!(l.message.len() <= REMOTE_MESSAGE_BYTES_MAX);
            }
            seen += batch.lines.len();
        }
        assert_eq!(seen, 40);
    }
}
