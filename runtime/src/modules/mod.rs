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

/// Named exports of the Node shims (`runtime/src/js/05_node.js`), for `import { x } from "node:x"`.
/// The test `node_shims_export_what_rust_lists` keeps this table equal to what the shims export.
pub const NODE_SHIM_EXPORTS: &[(&str, &[&str])] = &[
    ("buffer", &["Buffer", "kMaxLength", "constants"]),
    (
        "crypto",
        &[
            "createHash",
            "createHmac",
            "randomUUID",
            "randomBytes",
            "randomFillSync",
            "randomInt",
            "getRandomValues",
            "timingSafeEqual",
            "getHashes",
            "webcrypto",
        ],
    ),
    ("events", &["EventEmitter", "defaultMaxListeners", "once"]),
    (
        "path",
        &[
            "sep",
            "delimiter",
            "normalize",
            "join",
            "resolve",
            "isAbsolute",
            "dirname",
            "basename",
            "extname",
            "relative",
            "parse",
            "format",
            "posix",
        ],
    ),
    (
        "querystring",
        &[
            "escape",
            "unescape",
            "parse",
            "stringify",
            "decode",
            "encode",
        ],
    ),
    ("url", &["URL", "URLSearchParams", "parse", "format"]),
    (
        "util",
        &[
            "format",
            "inspect",
            "inherits",
            "promisify",
            "callbackify",
            "deprecate",
            "isDeepStrictEqual",
            "types",
            "TextEncoder",
            "TextDecoder",
        ],
    ),
];

/// Node's built-in module names. Those with a shim resolve to it; the rest throw a clear error when
/// required (`module 'fs' is not available in actions`).
pub const NODE_BUILTINS: &[&str] = &[
    "assert",
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
    "domain",
    "events",
    "fs",
    "fs/promises",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "worker_threads",
    "zlib",
];
