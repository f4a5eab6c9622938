//! The `actionflow` deno_core extension: the only ops an action can reach (console, api.cache, fetch,
//! URL parsing, randomness, module resolution) and the bootstrap JavaScript that wraps them.
// `#[op2]` expands to FFI glue that uses `unsafe`; no hand-written unsafe code lives here.
#![allow(unsafe_code)]

use crate::cache::CacheStore;
use crate::host::{HostCallContext, HostModule};
use crate::limits::Limits;
use crate::modules::{self, ModuleFiles, Resolved};
use crate::net::{FetchRequest, FetchResponse, Net};
use crate::outcome::{LogLevel, LogLine};
use deno_core::{op2, OpState};
use deno_error::JsErrorBox;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// What every execution of one isolate shares: the action's files, the network, the cache store.
pub(crate) struct IsolateContext {
    pub files: Arc<dyn ModuleFiles>,
    pub host_modules: Arc<HostModules>,
    pub net: Arc<Net>,
    pub cache: Arc<CacheStore>,
    pub cache_scope: String,
}

/// What one execution collects; replaced at the start of every execution.
pub(crate) struct ExecutionContext {
    pub started: Instant,
    pub deadline: Instant,
    pub limits: Limits,
    pub logs: Vec<LogLine>,
    pub log_bytes: usize,
    pub logs_dropped: u64,
    pub fetches: u32,
}

impl ExecutionContext {
    pub fn new(limits: Limits, started: Instant, deadline: Instant) -> ExecutionContext {
        ExecutionContext {
            started,
            deadline,
            limits,
            logs: Vec::new(),
            log_bytes: 0,
            logs_dropped: 0,
            fetches: 0,
        }
    }

    fn push_log(&mut self, level: LogLevel, message: &str) {
        let room = self.limits.log_bytes_max.saturating_sub(self.log_bytes);
        if self.logs.len() >= self.limits.log_lines_max || room == 0 {
            self.logs_dropped += 1;
            return;
        }
        let mut message = message.to_owned();
        if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        self.log_bytes += message.len();
        let at_ms = self.started.elapsed().as_millis() as u64;
        self.logs.push(LogLine {
            level,
            message,
            at_ms,
        });
    }
}

#[op2(fast)]
fn op_af_log(state: &mut OpState, #[smi] level: u32, #[string] message: &str) {
    if let Some(ctx) = state.try_borrow_mut::<ExecutionContext>() {
        ctx.push_log(LogLevel::from_code(level), message);
    }
}

#[op2]
#[string]
fn op_af_random_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[op2(fast)]
fn op_af_random_fill(#[buffer] buf: &mut [u8]) {
    rand::fill(buf);
}

fn url_parts(u: &url::Url) -> Vec<String> {
    let search = match u.query() {
        Some(q) if !q.is_empty() => format!("?{q}"),
        _ => String::new(),
    };
    let hash = match u.fragment() {
        Some(f) if !f.is_empty() => format!("#{f}"),
        _ => String::new(),
    };
    let port = u.port().map(|p| p.to_string()).unwrap_or_default();
    let hostname = u.host_str().unwrap_or_default().to_owned();
    let host = if port.is_empty() {
        hostname.clone()
    } else {
        format!("{hostname}:{port}")
    };
    vec![
        u.as_str().to_owned(),
        format!("{}:", u.scheme()),
        u.username().to_owned(),
        u.password().unwrap_or_default().to_owned(),
        hostname,
        port,
        u.path().to_owned(),
        search,
        hash,
        u.origin().ascii_serialization(),
        host,
    ]
}

#[op2]
#[serde]
fn op_af_url_parse(
    #[string] href: &str,
    #[string] base: Option<String>,
) -> Result<Vec<String>, JsErrorBox> {
    let parsed = match base {
        Some(base) => url::Url::parse(&base).and_then(|b| b.join(href)),
        None => url::Url::parse(href),
    };
    parsed
        .map(|u| url_parts(&u))
        .map_err(|_| JsErrorBox::type_error(format!("Invalid URL: '{href}'")))
}

#[op2]
#[serde]
fn op_af_url_set(
    #[string] href: &str,
    #[string] part: &str,
    #[string] value: &str,
) -> Result<Vec<String>, JsErrorBox> {
    let mut u = url::Url::parse(href)
        .map_err(|_| JsErrorBox::type_error(format!("Invalid URL: '{href}'")))?;
    let v = value;
    let _ = match part {
        "href" => {
            u = url::Url::parse(v)
                .map_err(|_| JsErrorBox::type_error(format!("Invalid URL: '{v}'")))?;
            Ok(())
        }
        "protocol" => u.set_scheme(v.trim_end_matches(':')),
        "username" => u.set_username(v),
        "password" => u.set_password(Some(v).filter(|p| !p.is_empty())),
        "hostname" | "host" => u.set_host(Some(v)).map_err(|_| ()),
        "port" => u.set_port(v.parse().ok()),
        "pathname" => {
            u.set_path(v);
            Ok(())
        }
        "search" => {
            u.set_query(Some(v.trim_start_matches('?')).filter(|q| !q.is_empty()));
            Ok(())
        }
        "hash" => {
            u.set_fragment(Some(v.trim_start_matches('#')).filter(|f| !f.is_empty()));
            Ok(())
        }
        _ => Err(()),
    };
    Ok(url_parts(&u))
}

fn cache_scope(state: &OpState) -> Option<(Arc<CacheStore>, String)> {
    state
        .try_borrow::<IsolateContext>()
        .map(|c| (c.cache.clone(), c.cache_scope.clone()))
}

#[op2]
#[serde]
fn op_af_cache_get(state: &mut OpState, #[string] key: &str) -> Option<(String, f64)> {
    let (cache, scope) = cache_scope(state)?;
    cache.get(&scope, key).map(|(v, at)| (v, at as f64))
}

#[op2]
#[serde]
fn op_af_cache_set(
    state: &mut OpState,
    #[string] key: &str,
    #[string] value: &str,
    ttl_ms: f64,
) -> serde_json::Value {
    let Some((cache, scope)) = cache_scope(state) else {
        return serde_json::Value::from("CACHE_UNAVAILABLE");
    };
    match cache.set(&scope, key, value, ttl_ms) {
        Ok(at) => serde_json::Value::from(at),
        Err(code) => serde_json::Value::from(code),
    }
}

#[op2]
#[serde]
fn op_af_cache_delete(state: &mut OpState, #[string] key: &str) -> Option<(String, f64)> {
    let (cache, scope) = cache_scope(state)?;
    cache.delete(&scope, key).map(|(v, at)| (v, at as f64))
}

#[op2]
#[serde]
async fn op_af_fetch(
    state: Rc<RefCell<OpState>>,
    #[serde] req: FetchRequest,
    #[buffer(copy)] body: Vec<u8>,
) -> Result<FetchResponse, JsErrorBox> {
    let (net, deadline, body_max) = {
        let mut s = state.borrow_mut();
        let net = s.try_borrow::<IsolateContext>().map(|c| c.net.clone());
        let ctx = s.try_borrow_mut::<ExecutionContext>();
        match (net, ctx) {
            (Some(net), Some(ctx)) => {
                ctx.fetches += 1;
                if ctx.fetches > ctx.limits.fetch_requests_max {
                    let max = ctx.limits.fetch_requests_max;
                    return Err(JsErrorBox::type_error(format!(
                        "fetch failed: more than {max} requests in one execution"
                    )));
                }
                (net, ctx.deadline, ctx.limits.fetch_response_bytes_max)
            }
            _ => {
                return Err(JsErrorBox::type_error(
                    "fetch failed: no execution is running",
                ))
            }
        }
    };
    net.fetch(req, body, deadline, body_max)
        .await
        .map_err(|e| JsErrorBox::type_error(e.to_string()))
}

/// The embedder's host modules by name.
pub(crate) type HostModules = std::collections::BTreeMap<&'static str, Arc<dyn HostModule>>;

fn host_module(state: &OpState, name: &str) -> Option<Arc<dyn HostModule>> {
    state
        .try_borrow::<IsolateContext>()?
        .host_modules
        .get(name)
        .cloned()
}

#[op2]
#[string]
fn op_af_host_source(state: &mut OpState, #[string] name: &str) -> Option<String> {
    host_module(state, name).map(|m| m.source().to_owned())
}

/// Runs a host module call on the network runtime. Returns `{ok}` or `{error: {name, message}}`: the
/// bootstrap throws the latter as an `Error` with that `name` (`MessageRejected`), which an op's own
/// error could not carry.
#[op2]
#[serde]
async fn op_af_host_call(
    state: Rc<RefCell<OpState>>,
    #[string] name: String,
    #[string] method: String,
    #[serde] args: serde_json::Value,
) -> serde_json::Value {
    let found = {
        let s = state.borrow();
        let module = host_module(&s, &name);
        let net = s.try_borrow::<IsolateContext>().map(|c| c.net.clone());
        let deadline = s.try_borrow::<ExecutionContext>().map(|c| c.deadline);
        module.zip(net).zip(deadline)
    };
    let Some(((module, net), deadline)) = found else {
        let message = format!("module '{name}' is not available in actions");
        return serde_json::json!({ "error": { "name": "Error", "message": message } });
    };
    match net
        .run(
            module.call(&method, args, HostCallContext { deadline }),
            deadline,
        )
        .await
    {
        Ok(value) => serde_json::json!({ "ok": value }),
        Err(e) => serde_json::json!({ "error": { "name": e.name, "message": e.message } }),
    }
}

/// `crypto.createHash(alg).digest()`: the whole input at once (the JS side buffers `update`s).
#[op2]
#[serde]
fn op_af_digest(
    #[string] alg: &str,
    #[buffer] data: &[u8],
) -> Result<deno_core::ToJsBuffer, JsErrorBox> {
    crate::digest::digest(alg, data)
        .map(Into::into)
        .ok_or_else(|| JsErrorBox::generic(format!("Digest method not supported: {alg}")))
}

#[op2]
#[serde]
fn op_af_hmac(
    #[string] alg: &str,
    #[buffer] key: &[u8],
    #[buffer] data: &[u8],
) -> Result<deno_core::ToJsBuffer, JsErrorBox> {
    crate::digest::hmac(alg, key, data)
        .map(Into::into)
        .ok_or_else(|| JsErrorBox::generic(format!("Digest method not supported: {alg}")))
}

fn files(state: &OpState) -> Result<Arc<dyn ModuleFiles>, JsErrorBox> {
    state
        .try_borrow::<IsolateContext>()
        .map(|c| c.files.clone())
        .ok_or_else(|| JsErrorBox::generic("modules are not available"))
}

/// `[kind, target]`: kind is `builtin` (target = module name), `cjs`, `esm` or `json` (target = path).
#[op2]
#[serde]
fn op_af_resolve(
    state: &mut OpState,
    #[string] request: &str,
    #[string] parent: &str,
    import: bool,
) -> Result<(String, String), JsErrorBox> {
    let files = files(state)?;
    match modules::resolve(files.as_ref(), request, parent, import) {
        Ok(Resolved::Builtin(name)) => Ok(("builtin".into(), name)),
        Ok(Resolved::File { path, kind }) => Ok((kind.as_str().into(), path)),
        Err(e) => Err(JsErrorBox::generic(e.to_string())),
    }
}

#[op2]
#[string]
fn op_af_read_file(state: &mut OpState, #[string] path: &str) -> Result<String, JsErrorBox> {
    files(state)?
        .read(path)
        .ok_or_else(|| JsErrorBox::generic(format!("Cannot read module file {path}")))
}

deno_core::extension!(
    actionflow,
    ops = [
        op_af_log,
        op_af_random_uuid,
        op_af_random_fill,
        op_af_url_parse,
        op_af_url_set,
        op_af_cache_get,
        op_af_cache_set,
        op_af_cache_delete,
        op_af_fetch,
        op_af_resolve,
        op_af_read_file,
        op_af_host_source,
        op_af_host_call,
        op_af_digest,
        op_af_hmac,
    ],
    esm_entry_point = "ext:actionflow/99_main.js",
    esm = [
        dir "src/js",
        "00_console.js",
        "01_web.js",
        "02_fetch.js",
        "03_api.js",
        "04_require.js",
        "05_node.js",
        "99_main.js",
    ],
);
