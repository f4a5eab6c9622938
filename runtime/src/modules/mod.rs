//! The files an action can load besides its own source (its packages, mounted under `/node_modules`),
//! and Node's resolution algorithm over them. `require` (JS) and `import` (the ESM loader) both resolve
//! here, so they always agree.

mod files;
mod loader;
mod resolve;

pub use files::{ModuleFiles, NoFiles, PackageMounts};
pub(crate) use loader::{ActionModuleLoader, LoaderSource};
pub(crate) use resolve::{resolve, Resolved};

/// The virtual path of the action's own source.
pub const ACTION_PATH: &str = "/action.js";
/// The specifier the action's own source is loaded under (stack traces are rewritten to `action.js`).
pub const ACTION_URL: &str = "file:///action.js";

/// Named exports of each Node built-in, for `import { x } from "node:x"` (`builtin_exports.json`).
/// The test `node_builtins_export_what_rust_lists` keeps the file equal to what the built-ins export
/// (run it with `ACTIONFLOW_WRITE_BUILTIN_EXPORTS=1` to rewrite it after a `deno_node` upgrade).
pub fn node_builtin_exports(name: &str) -> Option<&'static [String]> {
    static TABLE: std::sync::OnceLock<std::collections::BTreeMap<String, Vec<String>>> =
        std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| {
            serde_json::from_str(include_str!("builtin_exports.json")).unwrap_or_default()
        })
        .get(name)
        .map(Vec::as_slice)
}

/// Node's built-in module names. Those actions may use load from the Node layer (`js/05_node.js`);
/// the rest throw a clear error when required (`module 'child_process' is not available in actions`).
pub const NODE_BUILTINS: &[&str] = &[
    "assert",
    "assert/strict",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "dns/promises",
    "domain",
    "events",
    "fs",
    "fs/promises",
    "http",
    "http2",
    "https",
    "inspector",
    "inspector/promises",
    "module",
    "net",
    "os",
    "path",
    "path/posix",
    "path/win32",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "readline/promises",
    "repl",
    "stream",
    "stream/consumers",
    "stream/promises",
    "stream/web",
    "string_decoder",
    "sys",
    "timers",
    "timers/promises",
    "tls",
    "tty",
    "url",
    "util",
    "util/types",
    "v8",
    "vm",
    "worker_threads",
    "zlib",
];
