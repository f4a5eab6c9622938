//! One sandbox process seen from the server: started with an empty environment and a socket as its
//! only inherited file, written to by each caller itself ([`FrameOut`]) and read by a reader task
//! that hands each answer to its caller. When the process ends, every execution still
//! waiting on it learns so at once ([`Answer::Died`]), with how many were running there.

use crate::out::FrameOut;
use crate::wire::{self, FromSandbox, Init, Request, ToSandbox};
use crate::SandboxError;
use actionflow_runtime::{Outcome, RuntimeError};
use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

/// How a sandbox is started: this binary in worker mode.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub init: Init,
}

/// What came back for one execution.
#[derive(Debug)]
pub enum Answer {
    Done(Result<Outcome, RuntimeError>),
    /// A chain's results, one per step that ran.
    ChainDone(Vec<Result<Outcome, RuntimeError>>),
    /// The process ended before answering: `how` it ended, and whether this execution was the only
    /// one running there (then it surely is what ended it).
    Died {
        how: String,
        alone: bool,
    },
}

struct Waiting {
    callers: HashMap<u64, oneshot::Sender<Answer>>,
    /// Set once the process ended: no caller is added after.
    ended: bool,
}

pub struct Process {
    pid: u32,
    /// The socket's sending side; `None` once closed.
    to_sandbox: Mutex<Option<Arc<FrameOut>>>,
    waiting: Mutex<Waiting>,
    next_id: AtomicU64,
    /// When the sandbox last answered anything (an outcome or a ping).
    last_heard: Mutex<Instant>,
    /// No new executions: it is being replaced (memory) and ends once its last one answers.
    retired: AtomicBool,
}

impl Process {
    /// Starts a sandbox. Executions may be submitted at once: they wait in the socket until the
    /// sandbox has started.
    pub fn start(launch: &Launch) -> Result<Arc<Process>, SandboxError> {
        let snapshot = actionflow_runtime::snapshot::get().map_err(SandboxError::Start)?;
        let (ours, theirs) =
            UnixStream::pair().map_err(SandboxError::io("making a socket pair"))?;
        let mut child = tokio::process::Command::new(&launch.program)
            .args(&launch.args)
            .env_clear()
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(SandboxError::io("starting a sandbox process"))?;
        let pid = child.id().unwrap_or(0);
        ours.set_nonblocking(true)
            .map_err(SandboxError::io("setting the socket non-blocking"))?;
        let socket = tokio::net::UnixStream::from_std(ours)
            .map_err(SandboxError::io("registering the socket"))?;
        let (reader, writer) = socket.into_split();
        // First what the sandbox is and its snapshot, then the messages.
        let init = Init {
            snapshot_bytes: snapshot.len(),
            ..launch.init.clone()
        };
        let mut first = Vec::with_capacity(snapshot.len() + 1024);
        wire::encode(&init, &mut first)
            .map_err(|e| SandboxError::Start(format!("encoding the init message: {e}")))?;
        first.extend_from_slice(snapshot);
        let process = Arc::new(Process {
            pid,
            to_sandbox: Mutex::new(Some(FrameOut::start(writer, first))),
            waiting: Mutex::new(Waiting {
                callers: HashMap::new(),
                ended: false,
            }),
            next_id: AtomicU64::new(1),
            last_heard: Mutex::new(Instant::now()),
            retired: AtomicBool::new(false),
        });
        let reading = Arc::clone(&process);
        tokio::spawn(async move {
            let how = reading.read_answers(reader).await;
            let how = match child.wait().await {
                Ok(status) => describe(status).unwrap_or(how),
                Err(e) => format!("{how}; its status could not be read: {e}"),
            };
            reading.ended(&how);
        });
        Ok(process)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Executions sent and not answered yet.
    pub fn running(&self) -> usize {
        self.lock_waiting().callers.len()
    }

    pub fn is_alive(&self) -> bool {
        !self.lock_waiting().ended
    }

    pub fn is_usable(&self) -> bool {
        self.is_alive() && !self.retired.load(Ordering::Acquire)
    }

    /// Sends one execution; `None` when the process has already ended (the caller places it again).
    pub fn submit(&self, request: Arc<Request>, check: bool) -> Option<oneshot::Receiver<Answer>> {
        self.call(|id| ToSandbox::Run { id, check, request })
    }

    /// Sends a chain of executions, as [`Process::submit`].
    pub fn submit_chain(
        &self,
        steps: Vec<Arc<Request>>,
        budget_ms: u64,
    ) -> Option<oneshot::Receiver<Answer>> {
        self.call(|id| ToSandbox::Chain {
            id,
            steps,
            budget_ms,
        })
    }

    fn call(&self, message: impl FnOnce(u64) -> ToSandbox) -> Option<oneshot::Receiver<Answer>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = self.lock_waiting();
            // A retired process may already have closed its side: the caller places it again.
            if waiting.ended || self.retired.load(Ordering::Acquire) {
                return None;
            }
            if waiting.callers.is_empty() {
                // Silence while nothing ran is not a hang: the heartbeat counts from now.
                if let Ok(mut at) = self.last_heard.lock() {
                    *at = Instant::now();
                }
            }
            waiting.callers.insert(id, tx);
        }
        self.send(message(id));
        Some(rx)
    }

    /// Asks for a sign of life (answered by the sandbox's event loop, not by an isolate).
    pub fn ping(&self) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.send(ToSandbox::Ping { id });
    }

    pub fn silent_for(&self) -> std::time::Duration {
        self.last_heard
            .lock()
            .map_or(std::time::Duration::ZERO, |at| at.elapsed())
    }

    /// Takes no more executions and ends once those it runs have answered.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::Release);
        self.close_if_idle();
    }

    /// Ends the process at once (it stopped answering, or the server shuts down).
    pub fn kill(&self) {
        if self.pid != 0 && self.is_alive() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid).unwrap_or(0));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }

    fn send(&self, message: ToSandbox) {
        if let Ok(to_sandbox) = self.to_sandbox.lock() {
            if let Some(out) = to_sandbox.as_ref() {
                out.send(&message);
            }
        }
    }

    fn close_if_idle(&self) {
        // Under the callers' lock, so that no caller is added between the check and the close.
        let waiting = self.lock_waiting();
        if self.retired.load(Ordering::Acquire) && waiting.callers.is_empty() {
            self.close();
        }
    }

    /// Sends nothing more: the socket is shut once what is pending is out, and the sandbox, seeing
    /// the end, finishes what it runs and exits.
    fn close(&self) {
        let out = self.to_sandbox.lock().ok().and_then(|mut out| out.take());
        if let Some(out) = out {
            out.close();
        }
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads answers until the socket ends; returns why it ended.
    async fn read_answers(&self, mut reader: tokio::net::unix::OwnedReadHalf) -> String {
        let mut frame = Vec::new();
        loop {
            match wire::read_frame(&mut reader, &mut frame).await {
                Ok(true) => {}
                Ok(false) => return "it closed its socket".to_owned(),
                Err(e) => return format!("reading from it failed: {e}"),
            }
            if let Ok(mut at) = self.last_heard.lock() {
                *at = Instant::now();
            }
            match wire::decode::<FromSandbox>(&frame) {
                Ok(FromSandbox::Done { id, result }) => {
                    self.answer(id, Answer::Done(result.map_err(Into::into)));
                }
                Ok(FromSandbox::ChainDone { id, results }) => {
                    let results = results.into_iter().map(|r| r.map_err(Into::into)).collect();
                    self.answer(id, Answer::ChainDone(results));
                }
                Ok(FromSandbox::Ready | FromSandbox::Pong { .. }) => {}
                Err(e) => {
                    self.kill();
                    return format!("it sent a message that could not be read: {e}");
                }
            }
        }
    }

    fn answer(&self, id: u64, answer: Answer) {
        let caller = self.lock_waiting().callers.remove(&id);
        if let Some(caller) = caller {
            let _ = caller.send(answer);
        }
        self.close_if_idle();
    }

    fn ended(&self, how: &str) {
        let callers = {
            let mut waiting = self.lock_waiting();
            waiting.ended = true;
            std::mem::take(&mut waiting.callers)
        };
        self.close();
        let alone = callers.len() == 1;
        if !callers.is_empty() {
            tracing::warn!(
                pid = self.pid,
                executions = callers.len(),
                "a sandbox process ended while running executions: {how}"
            );
        }
        for (_, caller) in callers {
            let _ = caller.send(Answer::Died {
                how: how.to_owned(),
                alone,
            });
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
        self.close();
    }
}

/// "killed by signal SIGABRT", "exited with code 3"; `None` for a clean exit.
fn describe(status: std::process::ExitStatus) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(signal)
            .map_or_else(|_| signal.to_string(), |s| s.as_str().to_owned());
        return Some(format!("killed by signal {name}"));
    }
    match status.code() {
        Some(0) | None => None,
        Some(code) => Some(format!("exited with code {code}")),
    }
}
