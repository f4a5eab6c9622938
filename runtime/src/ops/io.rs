//! Ops that reach beyond the isolate, each through the contexts' handles: `api.cache`, `fetch`, host
//! module calls, and reading the action's package files for `require`.
#![allow(unsafe_code)]

use super::{ExecutionContext, IsolateContext};
use crate::cache::CacheStore;
use crate::host::{HostCallContext, HostModule};
use crate::modules::{self, ModuleFiles, Resolved};
use crate::net::{BodyLimits, FetchRequest, FetchResponse, HostList};
use deno_core::{op2, OpState};
use deno_error::JsErrorBox;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

fn cache_scope(state: &OpState) -> Option<(Arc<CacheStore>, String)> {
    state
        .try_borrow::<IsolateContext>()
        .map(|c| (c.cache.clone(), c.cache_scope.clone()))
}

#[op2]
#[serde]
pub(super) fn op_af_cache_get(state: &mut OpState, #[string] key: &str) -> Option<(String, f64)> {
    let (cache, scope) = cache_scope(state)?;
    cache.get(&scope, key).map(|(v, at)| (v, at as f64))
}

#[op2]
#[serde]
pub(super) fn op_af_cache_set(
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
pub(super) fn op_af_cache_delete(
    state: &mut OpState,
    #[string] key: &str,
) -> Option<(String, f64)> {
    let (cache, scope) = cache_scope(state)?;
    cache.delete(&scope, key).map(|(v, at)| (v, at as f64))
}

#[op2]
#[serde]
pub(super) async fn op_af_fetch(
    state: Rc<RefCell<OpState>>,
    #[serde] req: FetchRequest,
    #[buffer(copy)] body: Vec<u8>,
) -> Result<FetchResponse, JsErrorBox> {
    let (net, deadline, limits, hosts, vouched) = {
        let mut s = state.borrow_mut();
        let net = s.try_borrow::<IsolateContext>().map(|c| c.net.clone());
        let hosts = s.try_borrow::<Restricted>().map(|r| r.0.clone());
        let ctx = s.try_borrow_mut::<ExecutionContext>();
        match (net, ctx) {
            (Some(net), Some(ctx)) => {
                if let Err(max) = ctx.count_request() {
                    return Err(JsErrorBox::type_error(format!(
                        "fetch failed: more than {max} requests in one execution"
                    )));
                }
                (
                    net,
                    ctx.deadline,
                    BodyLimits {
                        each: ctx.limits.fetch_response_bytes_max,
                        total: ctx.fetch_budget.clone(),
                        total_max: ctx.limits.fetch_total_bytes_max,
                    },
                    hosts,
                    ctx.limits.private_urls.clone(),
                )
            }
            _ => {
                return Err(JsErrorBox::type_error(
                    "fetch failed: no execution is running",
                ))
            }
        }
    };
    net.fetch(req, body, deadline, limits, hosts, &vouched)
        .await
        .map_err(|e| JsErrorBox::type_error(e.to_string()))
}

/// The hosts this isolate's code may still reach, once it has narrowed its network.
pub(crate) struct Restricted(pub Arc<HostList>);

/// `require("actionflow:network").restrict(hosts)`: from now on, for the isolate's life (an isolate
/// runs one action version), `fetch` and Node's sockets reach `hosts` only, on top of the address
/// policy. Set once; never widened. Refused (fail-closed) when the execution in progress already
/// made a request or opened a socket without a restriction: code that restricts itself means
/// nothing to have left before, and an ES module's imports run before its body (a dependency's
/// top-level request would otherwise have escaped; the load fails instead).
#[op2]
pub(super) fn op_af_net_restrict(
    state: &mut OpState,
    #[serde] hosts: Vec<String>,
) -> Result<(), JsErrorBox> {
    let wanted = HostList::parse(&hosts).map_err(|e| JsErrorBox::type_error(e.to_string()))?;
    let current = state.try_borrow::<Restricted>().map(|r| r.0.clone());
    let reached = state
        .try_borrow::<ExecutionContext>()
        .is_some_and(|c| c.fetches > 0);
    if current.is_none() && reached {
        return Err(JsErrorBox::type_error(
            "network.restrict: this execution already reached the network (a request or a socket) \
             before restricting it, so the restriction could not hold; restrict before any request, \
             and do not use the network while a module is being imported",
        ));
    }
    let list = crate::net::restrict(current.as_deref(), wanted)
        .map_err(|e| JsErrorBox::type_error(e.to_string()))?;
    let allow_private = state
        .try_borrow::<IsolateContext>()
        .is_some_and(|c| c.net.allow_private());
    state.put(crate::node::restricted_permissions(allow_private, &list));
    state.put(Restricted(Arc::new(list)));
    Ok(())
}

/// A Node socket (`net`, `tls`, and so `http`/`https`) is connecting: it counts as one request of the
/// execution's `fetch_requests_max`, shared with `fetch`.
#[op2(fast)]
pub(super) fn op_af_net_connection(state: &mut OpState) -> Result<(), JsErrorBox> {
    let Some(ctx) = state.try_borrow_mut::<ExecutionContext>() else {
        return Err(JsErrorBox::type_error(
            "a connection outside an execution is not allowed",
        ));
    };
    ctx.count_request().map_err(|max| {
        JsErrorBox::type_error(format!(
            "connection refused: more than {max} requests in one execution"
        ))
    })
}

/// A Node socket received `bytes`: taken from the execution's `fetch_total_bytes_max`, shared with
/// `fetch` bodies.
#[op2(fast)]
pub(super) fn op_af_net_received(state: &mut OpState, bytes: u32) -> Result<(), JsErrorBox> {
    let Some(ctx) = state.try_borrow::<ExecutionContext>() else {
        return Err(JsErrorBox::type_error("no execution is running"));
    };
    if crate::net::take_budget(&ctx.fetch_budget, bytes as usize) {
        return Ok(());
    }
    Err(JsErrorBox::type_error(format!(
        "connection closed: the execution received more than {} bytes over the network",
        ctx.limits.fetch_total_bytes_max
    )))
}

fn host_module(state: &OpState, name: &str) -> Option<Arc<dyn HostModule>> {
    state
        .try_borrow::<IsolateContext>()?
        .host_modules
        .get(name)
        .cloned()
}

#[op2]
#[string]
pub(super) fn op_af_host_source(state: &mut OpState, #[string] name: &str) -> Option<String> {
    host_module(state, name).map(|m| m.source().to_owned())
}

/// Runs a host module call on the network runtime. Returns `{ok}` or `{error: {name, message}}`: the
/// bootstrap throws the latter as an `Error` with that `name` (`MessageRejected`), which an op's own
/// error could not carry.
#[op2]
#[serde]
pub(super) async fn op_af_host_call(
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

fn files(state: &OpState) -> Result<Arc<dyn ModuleFiles>, JsErrorBox> {
    state
        .try_borrow::<IsolateContext>()
        .map(|c| c.files.clone())
        .ok_or_else(|| JsErrorBox::generic("modules are not available"))
}

/// `[kind, target]`: kind is `builtin` (target = module name), `cjs`, `esm` or `json` (target = path).
#[op2]
#[serde]
pub(super) fn op_af_resolve(
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
pub(super) fn op_af_read_file(
    state: &mut OpState,
    #[string] path: &str,
) -> Result<String, JsErrorBox> {
    files(state)?
        .read(path)
        .ok_or_else(|| JsErrorBox::generic(format!("Cannot read module file {path}")))
}
