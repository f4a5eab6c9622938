//! The sandbox side: the binary started in worker mode reads its [`Init`] from the socket on fd 0,
//! locks itself down, starts a runtime, and runs what it is sent until the socket closes. It holds
//! no database, key or token: its environment is empty and it is told only what each execution needs.

use crate::lockdown;
use crate::out::FrameOut;
use crate::wire::{self, FromSandbox, Init, Request, ToSandbox};
use crate::SandboxError;
use actionflow_runtime::{Chain, ChainDone, Done, HostModule, Runtime, RuntimeError};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A bound on the snapshot a sandbox accepts (ours is a few megabytes).
const SNAPSHOT_BYTES_MAX: usize = 256 * 1024 * 1024;

/// Makes the host modules (`actionflow:ses`, …) a sandbox's actions can load, from its `Init`.
pub type HostModules = dyn Fn(&Init) -> Vec<Arc<dyn HostModule>>;

/// Runs the sandbox until the server closes the socket. Returns an error (to print and exit ≠ 0)
/// when it cannot start.
pub fn serve(host_modules: &HostModules) -> Result<(), SandboxError> {
    let socket = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(SandboxError::io("taking the socket on fd 0"))?;
    let mut socket = UnixStream::from(socket);
    let init: Init = read_init(&mut socket)?;
    read_snapshot(&mut socket, init.snapshot_bytes)?;
    // Before any thread exists, so that every later one inherits the confinement.
    lockdown::apply(&init.readable)?;
    let modules = host_modules(&init);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SandboxError::io("starting the sandbox's event loop"))?;
    rt.block_on(async move {
        let runtime = Runtime::with_host_modules(init.pool.clone(), modules)
            .map_err(|e| SandboxError::Start(e.to_string()))?;
        socket
            .set_nonblocking(true)
            .map_err(SandboxError::io("setting the socket non-blocking"))?;
        let socket = tokio::net::UnixStream::from_std(socket)
            .map_err(SandboxError::io("registering the socket"))?;
        run(runtime, socket).await
    })
}

fn read_init(socket: &mut UnixStream) -> Result<Init, SandboxError> {
    let mut len = [0u8; 4];
    socket
        .read_exact(&mut len)
        .map_err(SandboxError::io("reading the init message"))?;
    let len = u32::from_le_bytes(len) as usize;
    if len > wire::FRAME_BYTES_MAX {
        return Err(SandboxError::Start(format!(
            "an init message of {len} bytes"
        )));
    }
    let mut frame = vec![0; len];
    socket
        .read_exact(&mut frame)
        .map_err(SandboxError::io("reading the init message"))?;
    wire::decode(&frame).map_err(SandboxError::io("decoding the init message"))
}

/// Reads the startup snapshot the server sends after the init message, and makes it this process's.
fn read_snapshot(socket: &mut UnixStream, len: usize) -> Result<(), SandboxError> {
    if len == 0 {
        return Ok(());
    }
    if len > SNAPSHOT_BYTES_MAX {
        return Err(SandboxError::Start(format!("a snapshot of {len} bytes")));
    }
    let mut bytes = vec![0; len];
    socket
        .read_exact(&mut bytes)
        .map_err(SandboxError::io("reading the startup snapshot"))?;
    // Kept for the life of the process, as a snapshot made here would be.
    actionflow_runtime::snapshot::provide(Vec::leak(bytes));
    Ok(())
}

async fn run(runtime: Runtime, socket: tokio::net::UnixStream) -> Result<(), SandboxError> {
    let (mut reader, writer) = socket.into_split();
    let out = FrameOut::start(writer, Vec::new());
    out.send(&FromSandbox::Ready);
    // Every execution holds a clone until it has answered: the end waits for the last one.
    let (running, mut all_done) = mpsc::channel::<()>(1);
    let mut frame = Vec::new();
    while wire::read_frame(&mut reader, &mut frame)
        .await
        .map_err(SandboxError::io("reading from the server"))?
    {
        match wire::decode::<ToSandbox>(&frame).map_err(SandboxError::io("decoding a message"))? {
            ToSandbox::Ping { id } => out.send(&FromSandbox::Pong { id }),
            ToSandbox::Chain {
                id,
                steps,
                budget_ms,
            } => {
                // Each step started, and the answer written, from the isolate thread before it.
                let (out, running) = (Arc::clone(&out), running.clone());
                let done: ChainDone = Box::new(move |results| {
                    let results = results.into_iter().map(|r| r.map_err(Into::into)).collect();
                    out.send(&FromSandbox::ChainDone { id, results });
                    drop(running);
                });
                let steps: Result<Vec<_>, RuntimeError> =
                    steps.into_iter().map(Request::take).collect();
                match steps {
                    Ok(steps) => runtime.execute_chain_then(Chain { steps, budget_ms }, done),
                    Err(error) => done(vec![Err(error)]),
                }
            }
            ToSandbox::Run { id, check, request } => {
                // Answered from the isolate thread that ran it: this thread is not woken for it.
                let (out, running) = (Arc::clone(&out), running.clone());
                let done: Done = Box::new(move |result| {
                    let result = result.map_err(Into::into);
                    out.send(&FromSandbox::Done { id, result });
                    drop(running);
                });
                match Request::take(request) {
                    Ok(request) => runtime.execute_then(request, check, done),
                    Err(error) => done(Err(error)),
                }
            }
        }
    }
    // The server closed its side: finish what is running, then end.
    drop(running);
    let _ = all_done.recv().await;
    out.finish().await;
    Ok(())
}
