// Copyright Actionflow authors. Apache-2.0.
// Node's built-in modules for actions, from Deno's Node compatibility layer (deno_node): each is loaded
// on its first `require`, the way deno_node's own `require` loads it, then fitted for actions: no host
// environment (`process.env` is empty), nothing that acts on the process, no servers. What an action
// may not have (child_process, vm, workers, ...) is absent: `require` throws "module 'x' is not
// available in actions". The ops behind them enforce the rest (permissions, the read-only `fs` view,
// the network policy), whatever JavaScript reaches them.
import { core, internals } from "ext:core/mod.js";
import { op_af_net_connection, op_af_net_received } from "ext:core/ops";
// Evaluated here so that the snapshot holds it for `node:console`, which imports it.
import "ext:runtime/98_global_scope_shared.js";

const NODE_VERSION = "22.14.0";

const ext = (path) => () => core.loadExtScript(`ext:deno_node/${path}`);
const extDefault = (path) => () => core.loadExtScript(`ext:deno_node/${path}`).default;
const lazyDefault = (specifier) => () => core.createLazyLoader(specifier)().default;

const loaders = {
  assert: extDefault("assert.ts"),
  "assert/strict": lazyDefault("node:assert/strict"),
  async_hooks: extDefault("async_hooks.ts"),
  buffer: extDefault("internal/buffer.mjs"),
  console: lazyDefault("node:console"),
  constants: extDefault("constants.ts"),
  crypto: extDefault("crypto.ts"),
  diagnostics_channel: extDefault("diagnostics_channel.js"),
  dns: extDefault("dns.ts"),
  "dns/promises": extDefault("dns/promises.ts"),
  domain: extDefault("domain.ts"),
  events: extDefault("_events.mjs"),
  fs: ext("fs.ts"),
  "fs/promises": () => core.loadExtScript("ext:deno_node/fs/promises.ts").fsPromises,
  http: ext("http.ts"),
  http2: ext("http2.ts"),
  https: ext("https.ts"),
  module: () => moduleShim,
  net: lazyDefault("node:net"),
  os: extDefault("os.ts"),
  path: lazyDefault("node:path"),
  "path/posix": lazyDefault("node:path/posix"),
  "path/win32": lazyDefault("node:path/win32"),
  perf_hooks: extDefault("perf_hooks.js"),
  process: lazyDefault("node:process"),
  punycode: extDefault("punycode.ts"),
  querystring: extDefault("querystring.js"),
  stream: lazyDefault("node:stream"),
  "stream/consumers": ext("stream/consumers.js"),
  "stream/promises": lazyDefault("node:stream/promises"),
  "stream/web": ext("stream/web.js"),
  string_decoder: extDefault("string_decoder.ts"),
  sys: () => builtin("util"),
  timers: ext("timers.ts"),
  "timers/promises": ext("timers/promises.ts"),
  tls: lazyDefault("node:tls"),
  tty: lazyDefault("node:tty"),
  url: ext("url.ts"),
  util: ext("util.ts"),
  "util/types": ext("internal/util/types.ts"),
  zlib: ext("zlib.js"),
};

/** The built-ins an action may load (Rust lists all of Node's: `require` refuses the rest). */
export const builtinNames = Object.keys(loaders);

const loaded = new Map();
const SOCKETS = new Set(["http", "https", "http2", "tls", "net", "dns", "dns/promises"]);

/** The built-in `name`, or `undefined` when actions may not have it. */
export function builtin(name) {
  let m = loaded.get(name);
  if (m !== undefined) return m;
  const load = loaders[name];
  if (load === undefined) return undefined;
  // Every socket is a `net.Socket`: fit `net` before anything can open one.
  if (name !== "net" && SOCKETS.has(name)) builtin("net");
  m = load();
  fit(name, m);
  loaded.set(name, m);
  return m;
}

const refuse = (what) => () => {
  const e = new Error(`${what} is not available in actions`);
  e.code = "ERR_NOT_AVAILABLE_IN_ACTIONS";
  throw e;
};

/** Makes a module fit for actions, once, before anything sees it. */
function fit(name, m) {
  switch (name) {
    case "process":
      fitProcess(m);
      break;
    case "os":
      Object.assign(m, {
        hostname: () => "localhost",
        homedir: () => "/",
        tmpdir: () => "/tmp",
        userInfo: () => ({ uid: 0, gid: 0, username: "action", homedir: "/", shell: null }),
        cpus: () => [],
        availableParallelism: () => 1,
        networkInterfaces: () => ({}),
        loadavg: () => [0, 0, 0],
        uptime: () => 0,
        freemem: () => 0,
        totalmem: () => 0,
        release: () => "",
        version: () => "",
        machine: () => "x86_64",
        getPriority: () => 0,
        setPriority: refuse("os.setPriority"),
      });
      break;
    case "net":
      fitSockets(m.Socket.prototype);
      m.createServer = refuse("net.createServer (servers)");
      break;
    case "http":
    case "https":
    case "tls":
      m.createServer = refuse(`${name}.createServer (servers)`);
      break;
    case "http2":
      m.createServer = refuse("http2.createServer (servers)");
      m.createSecureServer = refuse("http2.createSecureServer (servers)");
      break;
  }
}

/**
 * Sockets share `fetch`'s per-execution budget: each connection is a request, each byte received
 * counts. (Where a socket may connect is decided by the ops, under the network policy.)
 */
function fitSockets(proto) {
  const connect = proto.connect;
  proto.connect = function (...args) {
    op_af_net_connection();
    return connect.apply(this, args);
  };
  const push = proto.push;
  proto.push = function (chunk, encoding) {
    if (chunk != null && chunk.length > 0) {
      try {
        op_af_net_received(typeof chunk === "string" ? Buffer.byteLength(chunk, encoding) : chunk.length);
      } catch (e) {
        this.destroy(e);
        return false;
      }
    }
    return push.call(this, chunk, encoding);
  };
}

function fitProcess(p) {
  const env = {};
  Object.defineProperty(p, "env", { value: env, writable: true, enumerable: true, configurable: true });
  for (const method of ["exit", "reallyExit", "abort", "kill", "chdir", "dlopen", "binding", "_linkedBinding", "setuid", "setgid", "seteuid", "setegid", "setgroups", "initgroups"]) {
    Object.defineProperty(p, method, { value: refuse(`process.${method}`), writable: true, configurable: true });
  }
  const values = {
    argv: ["/usr/local/bin/node", "/action.js"],
    argv0: "node",
    execArgv: [],
    execPath: "/usr/local/bin/node",
    pid: 1,
    ppid: 0,
    title: "node",
    version: `v${NODE_VERSION}`,
    cwd: () => "/",
    umask: () => 0o22,
  };
  for (const [key, value] of Object.entries(values)) {
    try {
      Object.defineProperty(p, key, { value, writable: true, enumerable: true, configurable: true });
    } catch {
      // deno_node made it read-only: a getter over its own state, which holds no host value either
    }
  }
  try {
    p.versions.node = NODE_VERSION;
  } catch {
    // a frozen versions object keeps deno_node's value
  }
  // Standard streams are the execution's log, never the host's terminal.
  const logStream = (level) => {
    const { Writable } = builtin("stream");
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        const text = String(chunk).replace(/\n$/, "");
        if (text !== "") globalThis.console[level](text);
        callback();
      },
    });
    stream.isTTY = false;
    stream.fd = level === "log" ? 1 : 2;
    return stream;
  };
  let stdout, stderr;
  Object.defineProperty(p, "stdout", { get: () => (stdout ??= logStream("log")), configurable: true });
  Object.defineProperty(p, "stderr", { get: () => (stderr ??= logStream("error")), configurable: true });
  Object.defineProperty(p, "stdin", { get: refuse("process.stdin"), configurable: true });
}

let makeRequire = null;

/** `module`: `createRequire` and the list of built-ins; the module system itself is ours. */
const moduleShim = {
  createRequire(filename) {
    let path = filename instanceof URL ? filename.pathname : String(filename);
    if (path.startsWith("file://")) path = new URL(path).pathname;
    if (!path.startsWith("/")) throw new TypeError(`createRequire: '${filename}' is not an absolute path or file URL`);
    return makeRequire(path.endsWith("/") ? `${path}index.js` : path);
  },
  get builtinModules() {
    return builtinNames.slice();
  },
  isBuiltin(name) {
    const n = String(name).replace(/^node:/, "");
    return Object.hasOwn(loaders, n);
  },
};
moduleShim.Module = moduleShim;

/** Set by the bootstrap: `require` for a file (`createRequire`). */
export function setMakeRequire(fn) {
  makeRequire = fn;
}

/** Before any Node module loads: what deno_node's process bootstrap reads. */
export function prepareNodeBootstrap() {
  internals.__nodeBootstrapArgs = {
    argv0: "node",
    denoArgs: [],
    denoVersion: { deno: "2", v8: "", typescript: "" },
    nodeDebug: "",
    runningOnMainThread: true,
  };
}
