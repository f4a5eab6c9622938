// Copyright Actionflow authors. Apache-2.0.
// CommonJS `require` for actions and their packages. Resolution (relative paths, node_modules,
// package.json main/exports) is done in Rust by `op_af_resolve` so ESM `import` and `require` agree;
// this file compiles and caches the modules and hands out the built-in modules.
import { core } from "ext:core/mod.js";
import { op_af_host_call, op_af_host_source, op_af_net_restrict, op_af_read_file, op_af_resolve } from "ext:core/ops";
import { builtin, setMakeRequire } from "ext:actionflow/05_node.js";

const PARAMS = ["exports", "require", "module", "__filename", "__dirname"];
const cache = new Map(); // virtual path -> module
const hostModules = {}; // name -> exports of an embedder's module, once loaded

function dirname(path) {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function makeRequire(parentPath) {
  const require = (request) => {
    if (typeof request !== "string") throw new TypeError("require: the module name must be a string");
    const [kind, target] = op_af_resolve(request, parentPath, false);
    if (kind === "builtin") return requireBuiltin(target);
    const hit = cache.get(target);
    if (hit !== undefined) return hit.exports;
    if (kind === "json") {
      const module = { id: target, filename: target, loaded: true, exports: JSON.parse(op_af_read_file(target)) };
      cache.set(target, module);
      return module.exports;
    }
    if (kind === "esm") {
      const err = new Error(`require() of ES module ${target} from ${parentPath} is not supported: use import`);
      err.code = "ERR_REQUIRE_ESM";
      throw err;
    }
    return loadCommonJs(target).exports;
  };
  require.resolve = (request) => op_af_resolve(request, parentPath, false)[1];
  require.cache = Object.create(null);
  return require;
}

/** Compiles and runs a CommonJS file of a package (the action's own file goes through `runCommonJs`). */
function loadCommonJs(path) {
  const source = op_af_read_file(path);
  const [fn, error] = core.compileFunction(source, "file://" + path, undefined, PARAMS);
  if (error) throw error.thrown;
  return runCommonJs(fn, path);
}

export function runCommonJs(fn, path) {
  const module = { id: path, filename: path, loaded: false, exports: {}, children: [], paths: [] };
  cache.set(path, module);
  try {
    fn.call(module.exports, module.exports, makeRequire(path), module, path, dirname(path));
  } catch (e) {
    cache.delete(path);
    throw e;
  }
  module.loaded = true;
  return module;
}

/** A built-in module by name, for `require` and for the ESM wrapper of `import "node:x"`. */
export function requireBuiltin(name) {
  if (name === "actionflow:network") return networkModule;
  if (name.startsWith(RESTRICTING)) {
    // `import "actionflow:network?restrict=a.com,*.b.com"`: restricted when this import is
    // evaluated, so before the imports written after it (an ES module's body runs after them all).
    const list = name.slice(RESTRICTING.length);
    networkModule.restrict(list === "" ? [] : list.split(","));
    return networkModule;
  }
  const m = name.startsWith("actionflow:") ? (hostModules[name] ?? loadHostModule(name)) : builtin(name);
  if (m === undefined) throw new Error(`module '${name}' is not available in actions`);
  return m;
}

const RESTRICTING = "actionflow:network?restrict=";

/** `actionflow:network`: `restrict(hosts)` narrows, for the rest of this code's life, where `fetch`
 * and sockets may go (`"api.example.com"`, `"*.example.com"`); set once, never widened. */
const networkModule = Object.freeze({
  restrict(hosts) {
    if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === "string")) {
      throw new TypeError("network.restrict: give an array of host names");
    }
    op_af_net_restrict(hosts);
  },
});

/** An embedder's module (`actionflow:ses`): its JavaScript face, with `call` reaching Rust. */
function loadHostModule(name) {
  const source = op_af_host_source(name);
  if (source === null) return undefined;
  const call = async (method, args) => {
    const res = await op_af_host_call(name, method, args ?? null);
    if (res.error) {
      const e = res.error.name === "TypeError" ? new TypeError(res.error.message) : new Error(res.error.message);
      if (res.error.name !== "TypeError") e.name = res.error.name;
      throw e;
    }
    return res.ok;
  };
  const [fn, error] = core.compileFunction(source, `file:///${name.replace(":", "/")}.js`, undefined, ["module", "exports", "call"]);
  if (error) throw error.thrown;
  const module = { exports: {} };
  fn.call(module.exports, module, module.exports, call);
  hostModules[name] = module.exports;
  return module.exports;
}

setMakeRequire(makeRequire);

/** Used by the ESM wrapper the Rust module loader generates when ESM code imports a CommonJS file. */
export function requireForImport(path) {
  const hit = cache.get(path);
  if (hit !== undefined) return hit.exports;
  if (path.endsWith(".json")) return makeRequire("/")(path);
  return loadCommonJs(path).exports;
}
