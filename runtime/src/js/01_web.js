// Copyright Actionflow authors. Apache-2.0.
// The small set of web globals an action may use: timers, TextEncoder/TextDecoder, atob/btoa, URL,
// URLSearchParams, crypto.randomUUID/getRandomValues, structuredClone, queueMicrotask.
import { core } from "ext:core/mod.js";
import { op_af_random_fill, op_af_random_uuid, op_af_url_parse, op_af_url_set } from "ext:core/ops";

// ---- timers -------------------------------------------------------------------------------------
const timers = new Map();
let timerIds = 0;

function startTimer(callback, delay, args, repeat) {
  if (typeof callback !== "function") throw new TypeError("The callback must be a function");
  const id = ++timerIds;
  const timer = core.createTimer(() => {
    if (!repeat) timers.delete(id);
    callback(...args);
  }, Number(delay) || 0, undefined, repeat, true);
  timers.set(id, timer);
  return id;
}

function stopTimer(id) {
  const timer = timers.get(id);
  if (timer !== undefined) {
    timers.delete(id);
    core.cancelTimer(timer);
  }
}

export const timerGlobals = {
  setTimeout: (cb, delay, ...args) => startTimer(cb, delay, args, false),
  setInterval: (cb, delay, ...args) => startTimer(cb, delay, args, true),
  clearTimeout: stopTimer,
  clearInterval: stopTimer,
  queueMicrotask: (cb) => {
    if (typeof cb !== "function") throw new TypeError("The callback must be a function");
    Promise.resolve().then(cb);
  },
};

// ---- text -----------------------------------------------------------------------------------------
export class TextEncoder {
  get encoding() { return "utf-8"; }
  encode(input = "") { return core.encode(String(input)); }
  encodeInto(input, dest) {
    const bytes = core.encode(String(input));
    const n = Math.min(bytes.length, dest.length);
    dest.set(bytes.subarray(0, n));
    return { read: n === bytes.length ? String(input).length : undefined, written: n };
  }
}

export class TextDecoder {
  #encoding;
  constructor(label = "utf-8") {
    const l = String(label).toLowerCase();
    if (l !== "utf-8" && l !== "utf8" && l !== "unicode-1-1-utf-8") {
      throw new RangeError(`The encoding "${label}" is not supported; only utf-8 is available`);
    }
    this.#encoding = "utf-8";
  }
  get encoding() { return this.#encoding; }
  decode(input) {
    if (input === undefined) return "";
    if (input instanceof ArrayBuffer) return core.decode(new Uint8Array(input));
    if (ArrayBuffer.isView(input)) return core.decode(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    throw new TypeError("TextDecoder.decode expects an ArrayBuffer or a typed array");
  }
}

// ---- base64 ---------------------------------------------------------------------------------------
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function btoa(input) {
  const s = String(input);
  let out = "";
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw new DOMException("The string contains characters outside of the Latin1 range", "InvalidCharacterError");
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < s.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < s.length ? B64[n & 63] : "=");
  }
  return out;
}

export function atob(input) {
  let s = String(input).replace(/[\t\n\f\r ]/g, "");
  if (s.length % 4 === 0) s = s.replace(/==?$/, "");
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) throw new DOMException("The string to be decoded is not correctly encoded", "InvalidCharacterError");
  let out = "", bits = 0, acc = 0;
  for (const ch of s) {
    acc = (acc << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) { bits -= 8; out += String.fromCharCode((acc >> bits) & 255); }
  }
  return out;
}

export class DOMException extends Error {
  constructor(message = "", name = "Error") { super(message); this.name = name; }
}

// ---- URL ------------------------------------------------------------------------------------------
function formEncode(s) {
  return encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}
function formDecode(s) {
  try { return decodeURIComponent(s.replace(/\+/g, " ")); } catch { return s; }
}

export class URLSearchParams {
  #list = [];
  #onChange = null;
  constructor(init = "") {
    if (typeof init === "string") this.#parse(init);
    else if (init && typeof init[Symbol.iterator] === "function") for (const [k, v] of init) this.#list.push([String(k), String(v)]);
    else if (init && typeof init === "object") for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
  }
  #parse(s) {
    this.#list = [];
    for (const part of s.replace(/^\?/, "").split("&")) {
      if (!part) continue;
      const i = part.indexOf("=");
      this.#list.push(i < 0 ? [formDecode(part), ""] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]);
    }
  }
  static _attach(params, search, onChange) { params.#parse(search); params.#onChange = onChange; }
  static _reparse(params, search) { params.#parse(search); }
  #changed() { if (this.#onChange) this.#onChange(this.toString()); }
  get size() { return this.#list.length; }
  append(k, v) { this.#list.push([String(k), String(v)]); this.#changed(); }
  delete(k) { this.#list = this.#list.filter(([n]) => n !== String(k)); this.#changed(); }
  get(k) { const e = this.#list.find(([n]) => n === String(k)); return e ? e[1] : null; }
  getAll(k) { return this.#list.filter(([n]) => n === String(k)).map(([, v]) => v); }
  has(k) { return this.#list.some(([n]) => n === String(k)); }
  set(k, v) {
    const key = String(k);
    const i = this.#list.findIndex(([n]) => n === key);
    if (i < 0) this.#list.push([key, String(v)]);
    else this.#list = this.#list.filter(([n], j) => j === i || n !== key).map((e, j) => (e[0] === key && j === i ? [key, String(v)] : e));
    this.#changed();
  }
  sort() { this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this.#changed(); }
  forEach(fn, thisArg) { for (const [k, v] of this.#list) fn.call(thisArg, v, k, this); }
  keys() { return this.#list.map(([k]) => k)[Symbol.iterator](); }
  values() { return this.#list.map(([, v]) => v)[Symbol.iterator](); }
  entries() { return this.#list.map((e) => [e[0], e[1]])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this.#list.map(([k, v]) => formEncode(k) + "=" + formEncode(v)).join("&"); }
}

// Parts come from Rust's WHATWG `url` parser as
// [href, protocol, username, password, hostname, port, pathname, search, hash, origin, host].
const URL_PARTS = ["href", "protocol", "username", "password", "hostname", "port", "pathname", "search", "hash", "origin", "host"];
const urlState = new WeakMap();

export class URL {
  constructor(url, base) {
    const parts = op_af_url_parse(String(url), base === undefined ? undefined : String(base));
    const params = new URLSearchParams();
    const state = { parts, params };
    urlState.set(this, state);
    URLSearchParams._attach(params, parts[7], (q) => setPart(state, "search", q, false));
  }
  static canParse(url, base) { try { new URL(url, base); return true; } catch { return false; } }
  static parse(url, base) { try { return new URL(url, base); } catch { return null; } }
  get searchParams() { return urlState.get(this).params; }
  toString() { return urlState.get(this).parts[0]; }
  toJSON() { return urlState.get(this).parts[0]; }
}

function setPart(state, name, value, reparse) {
  state.parts = op_af_url_set(state.parts[0], name, String(value));
  if (reparse) URLSearchParams._reparse(state.params, state.parts[7]);
}

for (const [i, name] of URL_PARTS.entries()) {
  Object.defineProperty(URL.prototype, name, {
    get() { return urlState.get(this).parts[i]; },
    set(value) {
      if (name === "origin") throw new TypeError("URL.origin is read-only");
      setPart(urlState.get(this), name, value, true);
    },
    enumerable: true,
    configurable: true,
  });
}

// ---- crypto ---------------------------------------------------------------------------------------
export const crypto = Object.freeze({
  randomUUID: () => op_af_random_uuid(),
  getRandomValues(array) {
    if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array || array instanceof DataView) {
      throw new TypeError("getRandomValues expects an integer typed array");
    }
    if (array.byteLength > 65536) throw new DOMException("The ArrayBufferView's byte length exceeds 65536", "QuotaExceededError");
    op_af_random_fill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    return array;
  },
});

export const structuredClone = (value) => core.structuredClone(value);
