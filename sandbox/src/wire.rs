//! What the server and a sandbox say to each other over their socket: frames of a 4-byte
//! little-endian length and a JSON message. The server writes [`Init`] first, then [`ToSandbox`]
//! messages; the sandbox answers [`FromSandbox`] messages. Several frames travel in one write when
//! they are ready together (batched under load).

use actionflow_runtime::{
    Event, ExecutionRequest, Limits, ModuleFiles, Outcome, PackageMounts, PoolConfig, RuntimeError,
    Secrets,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest frame either side accepts. A request is bounded by the code limit and the event the
/// server accepted; an outcome by the runtime's limits on `api` calls, logs and error texts.
pub const FRAME_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The first message to a new sandbox: everything it knows beyond the requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Init {
    pub pool: PoolConfig,
    /// Directories the sandbox may read (the package cache); nothing else of the file system.
    pub readable: Vec<PathBuf>,
    /// Whether the test-only host module `actionflow:sandbox-test` is loaded (debug builds only).
    pub test_ops: bool,
    /// The length of the startup snapshot written raw right after this message (made once by the
    /// server for all its sandboxes, see [`actionflow_runtime::snapshot`]); 0: none follows, the
    /// sandbox makes its own. Set by the server when it starts the process.
    #[serde(default)]
    pub snapshot_bytes: usize,
}

/// One execution, as it crosses to a sandbox: only what it needs.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub tenant: String,
    pub action: String,
    pub version: String,
    pub code: Arc<str>,
    /// Package directories by virtual mount path; the sandbox opens them itself, read-only.
    pub mounts: BTreeMap<String, PathBuf>,
    pub trigger_id: String,
    pub event: Box<RawValue>,
    pub secrets: BTreeMap<String, String>,
    pub limits: Limits,
}

impl Request {
    /// `None` when the request's package files are not on disk (they could not be handed over).
    pub fn from_execution(request: ExecutionRequest) -> Result<Request, RuntimeError> {
        let mounts = request.files.mounts().ok_or_else(|| {
            RuntimeError::Sandbox("the action's package files are not on disk".to_owned())
        })?;
        let event = RawValue::from_string(request.event.as_json().to_owned())
            .map_err(|e| RuntimeError::EventNotJson(e.to_string()))?;
        Ok(Request {
            tenant: request.tenant,
            action: request.action,
            version: request.version,
            code: request.code,
            mounts,
            trigger_id: request.trigger_id,
            event,
            secrets: request.secrets.0,
            limits: request.limits,
        })
    }

    /// The execution this request describes, keeping the request (to run it again elsewhere).
    pub fn to_execution(&self) -> Result<ExecutionRequest, RuntimeError> {
        Ok(ExecutionRequest {
            tenant: self.tenant.clone(),
            action: self.action.clone(),
            version: self.version.clone(),
            code: Arc::clone(&self.code),
            files: Arc::new(PackageMounts::new(self.mounts.clone())),
            trigger_id: self.trigger_id.clone(),
            event: Event::from_json(self.event.get())?,
            secrets: Secrets(self.secrets.clone()),
            limits: self.limits.clone(),
        })
    }

    /// The execution `request` describes: taken from it when nothing else holds it, else copied.
    pub fn take(request: Arc<Request>) -> Result<ExecutionRequest, RuntimeError> {
        match Arc::try_unwrap(request) {
            Ok(request) => request.into_execution(),
            Err(shared) => shared.to_execution(),
        }
    }

    /// The execution this request describes, inside the sandbox.
    pub fn into_execution(self) -> Result<ExecutionRequest, RuntimeError> {
        let files: Arc<dyn ModuleFiles> = Arc::new(PackageMounts::new(self.mounts));
        Ok(ExecutionRequest {
            tenant: self.tenant,
            action: self.action,
            version: self.version,
            code: self.code,
            files,
            trigger_id: self.trigger_id,
            event: Event::from_json(self.event.get())?,
            secrets: Secrets(self.secrets),
            limits: self.limits,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub enum ToSandbox {
    /// Run (or, with `check`, only load) one execution; the answer is `Done` with the same id.
    Run {
        id: u64,
        check: bool,
        request: Arc<Request>,
    },
    /// Run a chain of executions (a flow's actions, each seeing the event with the earlier ones'
    /// metadata changes); the answer is `ChainDone` with the same id.
    Chain {
        id: u64,
        steps: Vec<Arc<Request>>,
        budget_ms: u64,
    },
    /// Answered at once with `Pong`: the sandbox is not stuck.
    Ping { id: u64 },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum FromSandbox {
    /// Init applied, runtime up.
    Ready,
    Done {
        id: u64,
        result: Result<Outcome, WireError>,
    },
    ChainDone {
        id: u64,
        results: Vec<Result<Outcome, WireError>>,
    },
    Pong {
        id: u64,
    },
}

/// A [`RuntimeError`] as it crosses back.
#[derive(Debug, Serialize, Deserialize)]
pub enum WireError {
    UnknownTrigger(String, String),
    EventNotObject,
    EventNotJson(String),
    TenantBusy(usize),
    Other(String),
}

impl From<RuntimeError> for WireError {
    fn from(error: RuntimeError) -> WireError {
        match error {
            RuntimeError::UnknownTrigger(id, known) => WireError::UnknownTrigger(id, known),
            RuntimeError::EventNotObject => WireError::EventNotObject,
            RuntimeError::EventNotJson(message) => WireError::EventNotJson(message),
            RuntimeError::TenantBusy(waiting) => WireError::TenantBusy(waiting),
            other => WireError::Other(other.to_string()),
        }
    }
}

impl From<WireError> for RuntimeError {
    fn from(error: WireError) -> RuntimeError {
        match error {
            WireError::UnknownTrigger(id, known) => RuntimeError::UnknownTrigger(id, known),
            WireError::EventNotObject => RuntimeError::EventNotObject,
            WireError::EventNotJson(message) => RuntimeError::EventNotJson(message),
            WireError::TenantBusy(waiting) => RuntimeError::TenantBusy(waiting),
            WireError::Other(message) => RuntimeError::Sandbox(message),
        }
    }
}

/// Appends one frame holding `message` to `buf`.
pub fn encode<T: Serialize>(message: &T, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    if let Err(e) = serde_json::to_writer(&mut *buf, message) {
        // Nothing of a frame that could not be made goes out.
        buf.truncate(start);
        return Err(e);
    }
    let len = u32::try_from(buf.len() - start - 4).unwrap_or(u32::MAX);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Reads one frame into `buf` (replacing its content). `Ok(false)` at a clean end of the stream.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > FRAME_BYTES_MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes, more than {FRAME_BYTES_MAX}"),
        ));
    }
    buf.resize(len, 0);
    reader.read_exact(buf).await?;
    Ok(true)
}

/// Decodes a frame's message.
pub fn decode<'a, T: Deserialize<'a>>(frame: &'a [u8]) -> std::io::Result<T> {
    serde_json::from_slice(frame)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actionflow_runtime::NoFiles;

    #[tokio::test]
    async fn frames_round_trip_batched_and_bounded() {
        let request = ExecutionRequest {
            tenant: "t".into(),
            action: "a".into(),
            version: "v".into(),
            code: Arc::from("exports.onExecutePostLogin = async () => {};"),
            files: Arc::new(NoFiles),
            trigger_id: "post-login".into(),
            event: Event::from_json(r#"{"user":{"id":"ü\n"}}"#).expect("an event"),
            secrets: Secrets([("K".to_owned(), "v".to_owned())].into()),
            limits: Limits::default(),
        };
        let request = Arc::new(Request::from_execution(request).expect("a request"));
        let mut buf = Vec::new();
        for id in [1, 2] {
            let message = ToSandbox::Run {
                id,
                check: false,
                request: Arc::clone(&request),
            };
            encode(&message, &mut buf).expect("encoded");
        }
        let mut reader = buf.as_slice();
        let mut frame = Vec::new();
        for id in [1, 2] {
            assert!(read_frame(&mut reader, &mut frame).await.expect("a frame"));
            let ToSandbox::Run {
                id: got, request, ..
            } = decode(&frame).expect("decoded")
            else {
                panic!("not a run");
            };
            assert_eq!(got, id);
            let execution = Arc::try_unwrap(request)
                .expect("owned")
                .into_execution()
                .expect("ok");
            assert_eq!(execution.event.as_json(), r#"{"user":{"id":"ü\n"}}"#);
            assert_eq!(execution.secrets.0["K"], "v");
        }
        assert!(!read_frame(&mut reader, &mut frame).await.expect("the end"));
        let huge = (u32::try_from(FRAME_BYTES_MAX).expect("fits") + 1).to_le_bytes();
        let err = read_frame(&mut huge.as_slice(), &mut frame)
            .await
            .expect_err("too big");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }

    #[test]
    fn engine_errors_cross_as_themselves() {
        let back: RuntimeError = WireError::from(RuntimeError::TenantBusy(7)).into();
        assert!(matches!(back, RuntimeError::TenantBusy(7)));
        let back: RuntimeError = WireError::from(RuntimeError::WorkerLost).into();
        assert!(matches!(back, RuntimeError::Sandbox(m) if m.contains("stopped unexpectedly")));
    }
}
