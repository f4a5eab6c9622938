// Copyright Actionflow authors. Apache-2.0.
// The `api` object handed to a handler. Which methods a trigger has comes from Rust's trigger catalog;
// this file only knows how each method checks its arguments. Calls are recorded as data, in order.
import { op_af_cache_delete, op_af_cache_get, op_af_cache_set } from "ext:core/ops";

const stringifyJson = JSON.stringify;

function fail(method, message) {
  throw new TypeError(`api.${method}: ${message}`);
}

function str(method, args, i, name, optional = false) {
  const v = args[i];
  if (v === undefined && optional) return;
  if (typeof v !== "string") fail(method, `${name} must be a string, got ${v === null ? "null" : typeof v}`);
  if (!optional && v.length === 0) fail(method, `${name} must not be empty`);
}

function obj(method, args, i, name) {
  const v = args[i];
  if (v !== undefined && (v === null || typeof v !== "object" || Array.isArray(v))) fail(method, `${name} must be an object`);
}

// A value `JSON.stringify` cannot record (a function, symbol or bigint in place of the value); what
// it finds deeper (a bigint inside, a cycle) makes the recording itself throw, reported as this value's.
function json(method, args, i, name) {
  const v = args[i];
  if (typeof v === "function" || typeof v === "symbol" || typeof v === "bigint") fail(method, `${name} must be JSON-serializable, got ${typeof v}`);
}

// method -> [argument check, name of the argument that may hold any JSON value]. `claim`/`metadata`
// values may be any JSON value (null/undefined clears).
const CHECKS = {
  "access.deny": [(m, a) => { str(m, a, 0, "reason"); str(m, a, 1, "userMessage", true); }, "userMessage"],
  "accessToken.setCustomClaim": [(m, a) => { str(m, a, 0, "name"); json(m, a, 1, "value"); }, "value"],
  "idToken.setCustomClaim": [(m, a) => { str(m, a, 0, "name"); json(m, a, 1, "value"); }, "value"],
  "user.setAppMetadata": [(m, a) => { str(m, a, 0, "name"); json(m, a, 1, "value"); }, "value"],
  "user.setUserMetadata": [(m, a) => { str(m, a, 0, "name"); json(m, a, 1, "value"); }, "value"],
  "multifactor.enable": [(m, a) => { str(m, a, 0, "provider"); obj(m, a, 1, "options"); json(m, a, 1, "options"); }, "options"],
  "redirect.sendUserTo": [(m, a) => {
    str(m, a, 0, "url");
    try { new URL(a[0]); } catch { fail(m, `url must be an absolute URL, got "${a[0]}"`); }
    obj(m, a, 1, "options");
    json(m, a, 1, "options");
  }, "options"],
  "validation.error": [(m, a) => { str(m, a, 0, "code"); str(m, a, 1, "message"); }, "message"],
};

function makeCache() {
  return Object.freeze({
    get(key) {
      if (typeof key !== "string") fail("cache.get", "key must be a string");
      const hit = op_af_cache_get(key);
      return hit === null ? undefined : { value: hit[0], expires_at: hit[1] };
    },
    set(key, value, options = {}) {
      if (typeof key !== "string") fail("cache.set", "key must be a string");
      if (typeof value !== "string") fail("cache.set", "value must be a string");
      if (options === null || typeof options !== "object") fail("cache.set", "options must be an object");
      const { ttl, expires_at } = options;
      if (ttl !== undefined && (typeof ttl !== "number" || !(ttl > 0))) fail("cache.set", "options.ttl must be a positive number of milliseconds");
      if (expires_at !== undefined && typeof expires_at !== "number") fail("cache.set", "options.expires_at must be a number (ms since the epoch)");
      const ttlMs = ttl ?? (expires_at !== undefined ? expires_at - Date.now() : 0);
      const res = op_af_cache_set(key, value, ttlMs);
      return typeof res === "string" ? { type: "error", code: res } : { type: "success", record: { value, expires_at: res } };
    },
    delete(key) {
      if (typeof key !== "string") fail("cache.delete", "key must be a string");
      const prev = op_af_cache_delete(key);
      return prev === null ? { type: "success" } : { type: "success", record: { value: prev[0], expires_at: prev[1] } };
    },
  });
}

// `api.cache` holds no state of its own (the ops find the execution's): one frozen object serves all.
const cacheApi = makeCache();

/** `undefined` in metadata and claim values is recorded as `null`, as in arrays. */
const nullForUndefined = (_k, v) => (v === undefined ? null : v);

/** Whether `v` holds a plain object anywhere (only there can `undefined` be dropped by `JSON.stringify`). */
function holdsObject(v) {
  if (v === null || typeof v !== "object") return false;
  if (!Array.isArray(v)) return true;
  for (let i = 0; i < v.length; i++) if (holdsObject(v[i])) return true;
  return false;
}

// The calls of the execution in progress, as the JSON texts of `{method, args}`; `null` between
// executions, when a call (from a reference to `api` kept past its execution) is not recorded.
let sink = null;
// The execution's bound on the UTF-8 bytes of its calls' JSON, and the bytes recorded so far.
let bytesMax = 0;
let bytesUsed = 0;

/** Starts recording calls into `calls`, at most `max` bytes of JSON in all (`null`: stop recording). */
export function recordInto(calls, max = 0) {
  sink = calls;
  bytesMax = max;
  bytesUsed = 0;
}

/** UTF-8 bytes of `text` (`JSON.stringify` escapes lone surrogates, so surrogates come in pairs). */
function utf8Bytes(text) {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return n;
}

function overLimit(method, bytes, atLeast = "") {
  throw new RangeError(`api.${method}: the execution's api calls would take ${atLeast}${bytes} bytes of JSON, more than the limit of ${bytesMax} bytes`);
}

/** Charges `entry` to the execution's budget, or throws naming `method` when it does not fit. */
function charge(method, entry) {
  // A character is 1 to 3 bytes: count them only when the text could pass the limit.
  const room = bytesMax - bytesUsed;
  const bytes = entry.length * 3 <= room ? entry.length : utf8Bytes(entry);
  if (bytes > room) overLimit(method, bytesUsed + bytes);
  bytesUsed += bytes;
}

// methods array (one per trigger, kept by Rust) -> that trigger's frozen `api`, built once per isolate:
// its methods hold no state of their own, they record into `sink`.
const apis = new Map();

export function apiFor(methods) {
  let api = apis.get(methods);
  if (api === undefined) {
    api = buildApi(methods);
    apis.set(methods, api);
  }
  return api;
}

function buildApi(methods) {
  const api = {};
  for (const method of methods) {
    if (method.startsWith("cache.")) continue;
    const entry = CHECKS[method];
    if (entry === undefined) throw new Error(`internal: no argument check for api.${method}`);
    const [check, valueName] = entry;
    const [ns, name] = method.split(".");
    const start = `{"method":${stringifyJson(method)},"args":`;
    api[ns] ??= {};
    api[ns][name] = (...args) => {
      check(method, args);
      // A string past the limit is refused before `JSON.stringify` copies it.
      const value = args[1];
      if (sink !== null && typeof value === "string" && value.length > bytesMax - bytesUsed) {
        overLimit(method, bytesUsed + value.length, "at least ");
      }
      // Recorded as text now, so later mutation by the action does not change what was recorded.
      let text;
      try {
        text = holdsObject(args[1]) ? stringifyJson(args, nullForUndefined) : stringifyJson(args);
      } catch (e) {
        fail(method, `${valueName} must be JSON-serializable: ${e.message}`);
      }
      if (sink !== null) {
        const entry = `${start}${text}}`;
        charge(method, entry);
        sink[sink.length] = entry;
      }
      return api;
    };
  }
  api.cache = cacheApi;
  for (const ns of Object.keys(api)) Object.freeze(api[ns]);
  return Object.freeze(api);
}
