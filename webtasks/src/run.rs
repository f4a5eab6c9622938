//! One run of an extension: the middleware and compiler checks (bearer secrets compared in
//! constant time), the HTTP request as the event the programming models read, the execution on
//! the engine, and its outcome as an HTTP answer that says which part answered.

use crate::error::{Error, Result};
use crate::manage::{lockfile_of, parse_meta};
use crate::{rules, seal, wrap, Webtasks};
use actionflow_runtime::{Event, ExecutionRequest, Outcome, RuntimeError, Secrets, Status};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Which part of the platform answered (`x-wt-response-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The extension's code.
    Webtask,
    /// The compiler or middleware (authorization, compilation, the generic envelope).
    Compiler,
    /// The platform itself (limits, time, crashes).
    Proxy,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webtask => "webtask",
            Source::Compiler => "compiler",
            Source::Proxy => "proxy",
        }
    }
}

/// A request to an extension, as the server received it.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    /// What follows the extension's name in the URL path (`/more/path`; empty for none).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The request id (`ctx.id`).
    pub id: String,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source: Source,
}

impl HttpResponse {
    fn json(status: u16, value: &Value, source: Source) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: value.to_string().into_bytes(),
            source,
        }
    }
}

/// The storage token of an execution lives a little longer than its wall clock.
const TOKEN_GRACE_S: i64 = 60;

impl Webtasks {
    /// Runs the extension for `request`. `trusted` skips the compiler's and middleware's bearer
    /// checks (cron runs, which no caller sends). `Err` for an unknown extension and failures of
    /// the engine; everything the code does is an answer.
    pub async fn run(
        &self,
        container: &str,
        name: &str,
        request: HttpRequest,
        trusted: bool,
    ) -> Result<HttpResponse> {
        let row = self.store().get_extension(None, container, name).await?;
        let meta = parse_meta(&row.meta);
        let pipeline = rules::pipeline(&meta)?;
        let secrets =
            seal::open_secrets(self.sealer(), &row.tenant_id, container, name, &row.secrets)?;
        if !trusted {
            if let Some(refused) = authorize(pipeline, &secrets, &request) {
                return Ok(refused);
            }
        }
        let mut limits = self.limits().execution.clone();
        let expires = chrono::Utc::now().timestamp()
            + i64::try_from(limits.wall_ms_max / 1000).unwrap_or(0)
            + TOKEN_GRACE_S;
        let token = seal::storage_token(self.sealer(), &row.tenant_id, container, name, expires)?;
        let storage_url = format!("{}/api/webtask/{container}/{name}/data", self.base_url());
        // Its own storage is reachable wherever the server listens (loopback included): the one
        // address the policy lets through for this execution.
        limits.private_urls = vec![storage_url.clone()];
        let event = event(&request, &meta, pipeline, &storage_url, &token)?;
        let tree = match &row.lockfile {
            Some(text) => {
                let lockfile = lockfile_of(text)?;
                let tree = self
                    .packages()
                    .layout_or_fetch(&lockfile)
                    .await
                    .map_err(|e| Error::Internal(format!("laying out packages: {e}")))?;
                Some(tree)
            }
            None => None,
        };
        let files = self.files(tree.as_ref());
        let execution = ExecutionRequest {
            tenant: row.tenant_id.clone(),
            action: format!("webtask:{container}/{name}"),
            version: row.version.clone(),
            code: Arc::from(wrap::wrap(&row.code)),
            files,
            trigger_id: wrap::TRIGGER.to_owned(),
            event,
            secrets: Secrets(secrets),
            limits,
        };
        let outcome = match self.inner.engine.execute(execution).await {
            Ok(outcome) => outcome,
            Err(RuntimeError::TenantBusy(_)) => return Err(Error::Busy),
            Err(error) => return Err(Error::Runtime(error)),
        };
        self.logs()
            .publish(&row.tenant_id, container, name, &outcome.logs);
        Ok(answer(&outcome, self.limits().execution.wall_ms_max))
    }
}

impl Webtasks {
    /// The packages an extension loads: its locked dependencies and the programming models.
    fn files(
        &self,
        tree: Option<&actionflow_registry::InstalledTree>,
    ) -> Arc<dyn actionflow_runtime::ModuleFiles> {
        let mut mounts: BTreeMap<String, std::path::PathBuf> = tree
            .map(|t| {
                t.packages
                    .iter()
                    .map(|(key, pkg)| (format!("/{key}"), pkg.dir.clone()))
                    .collect()
            })
            .unwrap_or_default();
        mounts.insert(wrap::MODELS_MOUNT.to_owned(), self.inner.models_dir.clone());
        Arc::new(actionflow_runtime::PackageMounts::new(mounts))
    }
}

/// The bearer middleware's and the generic compiler's refusals, if any.
fn authorize(
    pipeline: rules::Pipeline,
    secrets: &BTreeMap<String, String>,
    request: &HttpRequest,
) -> Option<HttpResponse> {
    let bearer = request
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .and_then(|(_, v)| {
            let v = v.trim();
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    if pipeline.bearer && !matches(secrets.get(rules::AUTH_SECRET), bearer) {
        return Some(HttpResponse::json(
            401,
            &json!({"code": 401, "error": "Unauthenticated extensibility point",
                    "message": "send Authorization: Bearer <wt-auth-secret>"}),
            Source::Compiler,
        ));
    }
    if pipeline.generic {
        if let Some(secret) = secrets.get(rules::EXTENSION_SECRET) {
            if !matches(Some(secret), bearer) {
                return Some(HttpResponse::json(
                    401,
                    &json!({"statusCode": 401, "headers": {}, "status": "error",
                            "data": {"message": "Unauthorized extensibility point",
                                     "name": "UnauthorizedError", "statusCode": 401}}),
                    Source::Compiler,
                ));
            }
        }
    }
    None
}

/// Whether the bearer is the secret, compared in constant time (over digests, so that the
/// comparison takes the same time whatever the lengths).
fn matches(secret: Option<&String>, bearer: Option<&str>) -> bool {
    let (Some(secret), Some(bearer)) = (secret, bearer) else {
        return false;
    };
    let a: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    let b: [u8; 32] = Sha256::digest(bearer.as_bytes()).into();
    bool::from(a.ct_eq(&b))
}

/// The query as `ctx.query` has it: repeated keys become arrays, `webtask_*` keys are dropped.
fn query(raw: &str) -> Value {
    let mut out = Map::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if k.starts_with("webtask_") {
            continue;
        }
        let v = Value::String(v.into_owned());
        match out.get_mut(k.as_ref()) {
            Some(Value::Array(items)) => items.push(v),
            Some(first) => *first = Value::Array(vec![first.take(), v]),
            None => {
                out.insert(k.into_owned(), v);
            }
        }
    }
    Value::Object(out)
}

fn event(
    request: &HttpRequest,
    meta: &BTreeMap<String, String>,
    pipeline: rules::Pipeline,
    storage_url: &str,
    token: &str,
) -> Result<Event> {
    let mut headers = Map::new();
    for (k, v) in &request.headers {
        match headers.get_mut(k) {
            Some(Value::String(have)) => {
                have.push_str(", ");
                have.push_str(v);
            }
            _ => {
                headers.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    let path = if request.path.is_empty() {
        "/"
    } else {
        &request.path
    };
    let url = if request.query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", request.query)
    };
    let mut req = json!({"method": request.method, "url": url, "headers": headers});
    match std::str::from_utf8(&request.body) {
        Ok(text) => req["body"] = Value::String(text.to_owned()),
        Err(_) => {
            use base64::Engine as _;
            req["body_base64"] =
                Value::String(base64::engine::general_purpose::STANDARD.encode(&request.body))
        }
    }
    let value = json!({
        "request": req,
        "query": query(&request.query),
        "meta": meta,
        "id": request.id,
        "compiler": if pipeline.generic { Some("generic") } else { None },
        "storage": {"url": storage_url, "token": token},
    });
    Ok(Event::new(&value)?)
}

/// The outcome as the HTTP answer.
fn answer(outcome: &Outcome, wall_ms_max: u64) -> HttpResponse {
    let message = outcome
        .error
        .as_ref()
        .map(|e| format!("{}: {}", e.name, e.message))
        .unwrap_or_default();
    match outcome.status {
        Status::Completed => match response_of(outcome) {
            Some(response) => response,
            None => HttpResponse::json(
                500,
                &json!({"code": 500, "error": "The webtask did not answer."}),
                Source::Proxy,
            ),
        },
        Status::InvalidCode => HttpResponse::json(
            400,
            &json!({"code": 400, "error": format!("Compilation failed: {message}"),
                    "details": message}),
            Source::Compiler,
        ),
        Status::Threw => HttpResponse::json(
            500,
            &json!({"code": 500, "error": "Script generated an unhandled asynchronous exception.",
                    "details": message, "stack": outcome.error.as_ref().and_then(|e| e.stack.clone())}),
            Source::Webtask,
        ),
        Status::TimedOut => HttpResponse::json(
            500,
            &json!({"code": 500,
                    "error": format!("Script exceeded the execution time of {wall_ms_max} ms.")}),
            Source::Proxy,
        ),
        Status::CpuLimit => HttpResponse::json(
            500,
            &json!({"code": 500, "error": "Script exceeded its CPU time."}),
            Source::Proxy,
        ),
        Status::OutOfMemory => HttpResponse::json(
            500,
            &json!({"code": 500, "error": "Script ran out of memory."}),
            Source::Proxy,
        ),
        Status::Crashed => HttpResponse::json(
            500,
            &json!({"code": 500, "error": "The sandbox running the script ended."}),
            Source::Proxy,
        ),
    }
}

/// The answer the models recorded (`user.setAppMetadata("webtask:response", {...})`).
fn response_of(outcome: &Outcome) -> Option<HttpResponse> {
    let call = outcome.api_calls.iter().find(|c| {
        c.method == wrap::RESPONSE_CALL
            && c.args.first().and_then(Value::as_str) == Some(wrap::RESPONSE_NAME)
    })?;
    let r = call.args.get(1)?;
    let status = r["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
        .unwrap_or(500);
    let headers = r["headers"]
        .as_object()
        .map(|h| {
            // A header set to a list (`setHeader("Set-Cookie", [a, b])`) is sent once per value.
            h.iter()
                .flat_map(|(k, v)| {
                    let values: Vec<&Value> = match v {
                        Value::Array(list) => list.iter().collect(),
                        single => vec![single],
                    };
                    values
                        .into_iter()
                        .filter_map(|v| Some((k.to_ascii_lowercase(), v.as_str()?.to_owned())))
                })
                .collect()
        })
        .unwrap_or_default();
    let text = r["body"].as_str().unwrap_or_default();
    let body = if r["encoding"] == "base64" {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    let source = match r["source"].as_str() {
        Some("compiler") => Source::Compiler,
        Some("proxy") => Source::Proxy,
        _ => Source::Webtask,
    };
    Some(HttpResponse {
        status,
        headers,
        body,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webtask_parameters_leave_the_query_and_repeats_become_arrays() {
        assert_eq!(
            query("a=1&webtask_no_cache=1&b=2&b=3"),
            json!({"a": "1", "b": ["2", "3"]})
        );
    }

    #[test]
    fn bearer_checks_need_the_exact_secret() {
        let mut secrets = BTreeMap::new();
        secrets.insert(rules::EXTENSION_SECRET.to_owned(), "s3cret".to_owned());
        let generic = rules::Pipeline {
            generic: true,
            bearer: false,
        };
        let with = |h: &str| HttpRequest {
            headers: vec![("authorization".to_owned(), h.to_owned())],
            ..HttpRequest::default()
        };
        assert!(authorize(generic, &secrets, &with("Bearer s3cret")).is_none());
        assert!(authorize(generic, &secrets, &with("bearer  s3cret ")).is_none());
        assert!(authorize(generic, &secrets, &with("Bearer s3cre")).is_some());
        assert!(authorize(generic, &secrets, &HttpRequest::default()).is_some());
        assert!(authorize(generic, &BTreeMap::new(), &HttpRequest::default()).is_none());
    }
}
