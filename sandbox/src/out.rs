//! The writing side of a sandbox socket, shared by every thread that answers or asks: a message is
//! written by the thread that has it, at once, with a non-blocking write (an isolate thread writes
//! its own outcome; a server's caller writes its own request), so no other thread is woken to carry
//! it. What the socket cannot take yet waits, in order, for a flusher task that writes it when the
//! socket can take more; messages sent meanwhile queue behind it.

use crate::wire;
use serde::Serialize;
use std::io::ErrorKind;
use std::sync::{Arc, Mutex};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::Notify;

pub struct FrameOut {
    writer: OwnedWriteHalf,
    state: Mutex<State>,
    /// Tells the flusher that bytes wait for the socket (or that it is time to close).
    flush: Notify,
    /// Told by the flusher when the pending bytes are out (or the socket failed).
    drained: Notify,
}

#[derive(Default)]
struct State {
    /// Frames not written yet, from `written` on.
    pending: Vec<u8>,
    written: usize,
    /// The flusher owns the pending bytes until they are out: senders only append.
    flushing: bool,
    /// Nothing more is taken; the flusher writes what is left and shuts the socket.
    closing: bool,
    /// The socket failed: what is sent is dropped (the peer's end is seen by its reader).
    broken: bool,
}

impl FrameOut {
    /// Starts the flusher on the current tokio runtime; `first` (raw bytes, e.g. an init frame and
    /// what follows it) is written before any message.
    pub fn start(writer: OwnedWriteHalf, first: Vec<u8>) -> Arc<FrameOut> {
        let out = Arc::new(FrameOut {
            writer,
            state: Mutex::new(State::default()),
            flush: Notify::new(),
            drained: Notify::new(),
        });
        {
            let mut state = out.lock();
            state.pending = first;
            out.write_now(&mut state);
        }
        tokio::spawn(flusher(Arc::clone(&out)));
        out
    }

    /// Writes one frame holding `message`, from this thread when the socket takes it.
    pub fn send<T: Serialize>(&self, message: &T) {
        let mut state = self.lock();
        if state.closing || state.broken {
            return;
        }
        if let Err(e) = wire::encode(message, &mut state.pending) {
            tracing::error!("could not encode a message: {e}");
            return;
        }
        if !state.flushing {
            self.write_now(&mut state);
        }
    }

    /// Takes nothing more; what is pending is written, then the flusher lets go: once the last
    /// holder lets go too, the socket's sending side is shut (the peer reads the end of the stream).
    pub fn close(&self) {
        self.lock().closing = true;
        self.flush.notify_one();
    }

    /// Closes, and returns once what was pending is out (or the socket failed).
    pub async fn finish(&self) {
        self.close();
        loop {
            {
                let state = self.lock();
                if state.broken || !state.flushing {
                    return;
                }
            }
            self.drained.notified().await;
        }
    }

    /// Writes what the socket takes without waiting; hands the rest to the flusher.
    fn write_now(&self, state: &mut State) {
        match self.write_pending(state) {
            Ok(true) => {}
            Ok(false) => {
                state.flushing = true;
                self.flush.notify_one();
            }
            Err(()) => {}
        }
    }

    /// `Ok(true)` when everything pending is out, `Ok(false)` when the socket is full.
    fn write_pending(&self, state: &mut State) -> Result<bool, ()> {
        while state.written < state.pending.len() {
            match self.writer.try_write(&state.pending[state.written..]) {
                Ok(n) => state.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::debug!("a sandbox socket failed: {e}");
                    state.broken = true;
                    state.pending = Vec::new();
                    state.written = 0;
                    return Err(());
                }
            }
        }
        state.pending.clear();
        state.written = 0;
        Ok(true)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Writes what senders could not, as the socket takes it. Once closed and empty it ends, dropping
/// its hold: the last holder's drop shuts the socket's sending side.
async fn flusher(out: Arc<FrameOut>) {
    flush(&out).await;
    out.drained.notify_one();
}

async fn flush(out: &FrameOut) {
    loop {
        out.flush.notified().await;
        loop {
            {
                let mut state = out.lock();
                if state.broken {
                    return;
                }
                if state.flushing {
                    match out.write_pending(&mut state) {
                        Ok(true) => {
                            state.flushing = false;
                            out.drained.notify_one();
                        }
                        Ok(false) => {}
                        Err(()) => return,
                    }
                }
                if !state.flushing {
                    if state.closing {
                        return;
                    }
                    break;
                }
            }
            if out.writer.writable().await.is_err() {
                let mut state = out.lock();
                state.broken = true;
                state.pending = Vec::new();
                return;
            }
        }
    }
}
