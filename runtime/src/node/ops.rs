//! The `runtime` extension: what `deno_runtime` would otherwise give deno_node's polyfills (a few ops
//! they import and `ext:runtime/98_global_scope_shared.js`), the permissions, and the middleware that
//! disables every op acting on the process or the host beyond what the permissions already refuse.
// `#[op2]` expands to FFI glue that uses `unsafe`; no hand-written unsafe code lives in this file.
#![allow(unsafe_code)]

use deno_core::op2;
use deno_error::JsErrorBox;

/// Ops no action may call, whatever reaches them: they act on the process (exit, signals, umask,
/// the working directory), start processes, load native code, start workers, change the host's
/// environment, or resolve through deno_node's `require` (ours is the only module system).
const DISABLED: &[&str] = &[
    "op_exit",
    // deno_fetch's network path: `fetch` is ours, with the execution's budget.
    "op_fetch",
    "op_fetch_send",
    "op_fetch_custom_client",
    "op_set_exit_code",
    "op_kill",
    "op_signal_bind",
    "op_signal_poll",
    "op_signal_unbind",
    "op_set_env",
    "op_delete_env",
    "op_fs_chdir",
    "op_fs_umask",
    "op_spawn_child",
    "op_spawn_sync",
    "op_spawn_wait",
    "op_spawn_kill",
    "op_run",
    "op_run_status",
    "op_node_process_kill",
    "op_node_process_setegid",
    "op_node_process_seteuid",
    "op_node_process_setgid",
    "op_node_process_setuid",
    "op_node_in_npm_package",
    "op_worker_threads_filename",
    "op_node_has_child_ipc_pipe",
    "op_node_child_ipc_pipe",
    "op_net_listen_tcp",
    "op_net_listen_udp",
    "op_net_listen_unix",
    "op_net_listen_unixpacket",
    "op_net_listen_tls",
    "op_net_listen_vsock",
    "op_net_connect_unix",
    "op_net_connect_vsock",
    "op_node_unstable_net_listen_udp",
    "op_node_unstable_net_listen_unixpacket",
];

fn is_disabled(name: &str) -> bool {
    DISABLED.contains(&name) || name.starts_with("op_require_") || name.starts_with("op_host_")
}

/// Replaces deno_os's: the polyfills read `NODE_DEBUG`, proxy settings and the like through it,
/// without a permission check. An action sees no host variable.
#[op2]
#[string]
fn op_get_env_no_permission_check(#[string] _key: &str) -> Option<String> {
    None
}

/// Resource ids 0-2 are the standard streams in Deno; deno_node reads a 0 as "no resource" (a
/// cipher created as resource 0 is "unknown"). Actions have no standard streams: the ids are held
/// by this placeholder.
struct Reserved;

impl deno_core::Resource for Reserved {
    fn name(&self) -> std::borrow::Cow<'_, str> {
        "reserved".into()
    }
}

/// Thread CPU time in microseconds (user; system is not told apart), for `process.cpuUsage()`.
#[op2(fast)]
fn op_current_thread_cpu_usage(#[buffer] out: &mut [f64]) {
    let micros = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(|t| t.tv_sec() as f64 * 1e6 + t.tv_nsec() as f64 / 1e3)
        .unwrap_or(0.0);
    if let [user, system, ..] = out {
        *user = micros;
        *system = 0.0;
    }
}

/// Actions write to logs, not to a terminal: no colours.
#[op2(fast)]
#[smi]
fn op_bootstrap_color_depth() -> i32 {
    1
}

#[op2(fast)]
fn op_napi_open() -> Result<(), JsErrorBox> {
    Err(JsErrorBox::generic(
        "native addons (.node files) are not available in actions",
    ))
}

#[op2(fast)]
fn op_http_notify_serving() {}

/// No `DENO_SERVE_ADDRESS` override: `[kind none, host, port, duplicate]`.
#[op2]
#[serde]
fn op_http_serve_address_override() -> (u32, String, u32, bool) {
    (0, String::new(), 0, false)
}

deno_core::extension!(
    runtime,
    deps = [deno_node],
    ops = [
        op_current_thread_cpu_usage,
        op_bootstrap_color_depth,
        op_napi_open,
        op_http_notify_serving,
        op_http_serve_address_override,
    ],
    middleware = |op| {
        if op.name == "op_get_env_no_permission_check" {
            op.with_implementation_from(&op_get_env_no_permission_check())
        } else if is_disabled(op.name) {
            op.disable()
        } else {
            op
        }
    },
    state = |state| {
        state.put(super::permissions(false));
        for _ in 0..3 {
            state.resource_table.add(Reserved);
        }
    },
    customizer = |ext: &mut deno_core::Extension| {
        ext.esm_files =
            std::borrow::Cow::Owned(vec![deno_core::ExtensionFileSource::new_computed(
                "ext:runtime/98_global_scope_shared.js",
                std::sync::Arc::from(include_str!("../js/node/98_global_scope_shared.js")),
            )]);
    },
);
