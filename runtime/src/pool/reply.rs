//! Where an execution's outcome goes: a channel its caller awaits, or a function called with it on
//! the isolate thread that ran it (an embedder that writes the outcome out itself, such as a sandbox
//! answering over its socket, saves waking another thread per execution).

use crate::outcome::Outcome;
use crate::RuntimeError;
use tokio::sync::oneshot;

/// What a [`Reply::Call`] function is called with.
pub type Done = Box<dyn FnOnce(Result<Outcome, RuntimeError>) + Send>;

/// Where one execution's outcome goes back. Dropped without an answer (its job dropped with the
/// pool), a function is called with [`RuntimeError::WorkerLost`], as a channel's caller sees it.
pub(crate) struct Reply(Option<Kind>);

enum Kind {
    Channel(oneshot::Sender<Result<Outcome, RuntimeError>>),
    Call(Done),
}

impl Reply {
    pub fn channel() -> (Reply, oneshot::Receiver<Result<Outcome, RuntimeError>>) {
        let (tx, rx) = oneshot::channel();
        (Reply(Some(Kind::Channel(tx))), rx)
    }

    pub fn call(done: Done) -> Reply {
        Reply(Some(Kind::Call(done)))
    }

    /// Answers; `false` when nobody waits any more.
    pub fn send(mut self, result: Result<Outcome, RuntimeError>) -> bool {
        match self.0.take() {
            Some(Kind::Channel(tx)) => tx.send(result).is_ok(),
            Some(Kind::Call(done)) => {
                done(result);
                true
            }
            None => false,
        }
    }

    /// Whether the caller went away (only a channel's can).
    pub fn is_closed(&self) -> bool {
        match &self.0 {
            Some(Kind::Channel(tx)) => tx.is_closed(),
            Some(Kind::Call(_)) => false,
            None => true,
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(Kind::Call(done)) = self.0.take() {
            done(Err(RuntimeError::WorkerLost));
        }
    }
}
