// Copyright Actionflow authors. Apache-2.0.
// The `Deno` global that deno_node's polyfills call at run time (`Deno.errors`, `Deno.build`,
// `Deno.env`, ...): a small one of ours, without `Deno.core` (which would hand out every op). It says
// what an action may know - nothing of the host - and its error classes are the ones ops' errors are
// built with, so the polyfills' `instanceof Deno.errors.NotFound` maps them to Node's codes.
import { core } from "ext:core/mod.js";

const ERROR_NAMES = [
  "NotFound", "PermissionDenied", "ConnectionRefused", "ConnectionReset", "ConnectionAborted",
  "NotConnected", "AddrInUse", "AddrNotAvailable", "BrokenPipe", "AlreadyExists", "InvalidData",
  "TimedOut", "WriteZero", "WouldBlock", "UnexpectedEof", "Http", "Busy", "NotSupported",
  "FilesystemLoop", "IsADirectory", "NetworkUnreachable", "NotADirectory",
];

function errorClass(name) {
  const C = class extends Error {
    constructor(message, options) {
      super(message, options);
      this.name = name;
    }
  };
  Object.defineProperty(C, "name", { value: name });
  core.registerErrorClass(name, C);
  return C;
}

const refused = (what) => () => {
  throw new core.NotCapable(`${what} is not available in actions`);
};

core.setBuildInfo("x86_64-unknown-linux-gnu");
let fields = null;

/**
 * `Deno` for the polyfills. While the snapshot is made, deno_core's own `Deno` (which holds
 * `Deno.core`, needed until an isolate is set up) gets these members; `installDeno` then replaces it
 * with an object of only these, before any action runs.
 */
export function denoFields() {
  if (fields !== null) return fields;
  const errors = { BadResource: core.BadResource, Interrupted: core.Interrupted, NotCapable: core.NotCapable };
  for (const name of ERROR_NAMES) errors[name] = errorClass(name);
  const env = {
    get: () => undefined,
    has: () => false,
    toObject: () => ({}),
    set: refused("setting an environment variable"),
    delete: refused("deleting an environment variable"),
  };
  // The file functions the fs polyfills call (`Deno.statSync`, ...): over the read-only package view.
  const fs = core.loadExtScript("ext:deno_fs/30_fs.js");
  fields = {
    ...fs,
    build: core.build,
    errors,
    env,
    args: [],
    pid: 1,
    ppid: 0,
    noColor: true,
    version: { deno: "2.5.0", v8: "14.0", typescript: "5.9" },
    internal: Symbol("Deno.internal"),
    cwd: () => "/",
    execPath: () => "/usr/local/bin/node",
    exit: refused("Deno.exit"),
    addSignalListener: refused("a signal listener"),
    removeSignalListener: () => {},
    consoleSize: () => ({ columns: 80, rows: 24 }),
    uid: () => 0,
    gid: () => 0,
    osRelease: () => "",
    systemMemoryInfo: () => ({ total: 0, free: 0, available: 0, buffers: 0, cached: 0, swapTotal: 0, swapFree: 0 }),
  };
  return fields;
}

export function installDeno() {
  delete globalThis.Deno;
  const Deno = Object.freeze({ ...denoFields() });
  Object.defineProperty(globalThis, "Deno", { value: Deno, writable: false, enumerable: false, configurable: false });
}
