//! Records the ends of attempts in batches: every attempt that ends while a batch is being written
//! joins the next one, so a busy worker commits once per batch instead of once per job, and an
//! idle one still records each end at once (no waiting for a batch to fill).

use std::sync::Arc;

use actionflow_store::{FinishedAttempt, Store};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::Error;

/// Attempts' ends written in one transaction at most.
pub const FINISHED_PER_BATCH_MAX: usize = 256;

/// How the batch holding an attempt went, with the attempt handed back (for observers, no copy).
type Ack = oneshot::Sender<(Result<bool, String>, FinishedAttempt)>;

/// A handle to the recording task; cheap to clone. The task ends when every handle is dropped.
#[derive(Clone)]
pub struct Recorder {
    sender: mpsc::UnboundedSender<(FinishedAttempt, Ack)>,
}

impl Recorder {
    pub fn start(store: Arc<dyn Store>, worker_id: String) -> (Recorder, JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(store, worker_id, receiver));
        (Recorder { sender }, task)
    }

    /// Records one attempt's end; `false` when its lease was lost meanwhile. The attempt comes
    /// back with the answer.
    pub async fn record(&self, attempt: FinishedAttempt) -> Result<(bool, FinishedAttempt), Error> {
        let (ack, answer) = oneshot::channel();
        let gone = || Error::Prepare {
            action_id: String::new(),
            message: "the recorder stopped".to_owned(),
        };
        self.sender.send((attempt, ack)).map_err(|_| gone())?;
        match answer.await.map_err(|_| gone())? {
            (Ok(recorded), attempt) => Ok((recorded, attempt)),
            (Err(message), attempt) => {
                tracing::warn!(%message, "recording a batch of attempts failed");
                Ok((false, attempt))
            }
        }
    }
}

async fn run(
    store: Arc<dyn Store>,
    worker_id: String,
    mut receiver: mpsc::UnboundedReceiver<(FinishedAttempt, Ack)>,
) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < FINISHED_PER_BATCH_MAX {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (attempts, acks): (Vec<FinishedAttempt>, Vec<Ack>) = batch.into_iter().unzip();
        match store.finish_attempts(&worker_id, &attempts).await {
            Ok(recorded) => {
                for ((ack, recorded), attempt) in acks.into_iter().zip(recorded).zip(attempts) {
                    let _ = ack.send((Ok(recorded), attempt));
                }
            }
            // One unstorable result must not take the batch down with it: record them one by one.
            Err(_) if attempts.len() > 1 => {
                for (attempt, ack) in attempts.into_iter().zip(acks) {
                    let one = store
                        .finish_attempts(&worker_id, std::slice::from_ref(&attempt))
                        .await;
                    let one = one
                        .map(|r| r.first().copied().unwrap_or(false))
                        .map_err(|e| e.to_string());
                    let _ = ack.send((one, attempt));
                }
            }
            Err(error) => {
                // The lease stays with this worker until it expires; the job is then re-run.
                let message = error.to_string();
                for (ack, attempt) in acks.into_iter().zip(attempts) {
                    let _ = ack.send((Err(message.clone()), attempt));
                }
            }
        }
    }
}
