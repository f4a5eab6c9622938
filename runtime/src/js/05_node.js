// Copyright Actionflow authors. Apache-2.0.
// Small shims of the Node built-ins that pure-JS packages commonly need: events, util, path, url,
// querystring, buffer and a crypto subset (hashes and HMACs computed in Rust). Every other built-in
// throws `module 'x' is not available in actions`. Their export names are mirrored in Rust
// (modules/builtins.rs) for ESM named imports; a test keeps the two in step.
import { core } from "ext:core/mod.js";
import { op_af_digest, op_af_hmac } from "ext:core/ops";
import { format, inspect } from "ext:actionflow/00_console.js";
import { crypto as webcrypto, TextDecoder, TextEncoder, URL, URLSearchParams } from "ext:actionflow/01_web.js";

// ---- events ---------------------------------------------------------------------------------------
export class EventEmitter {
  #events = new Map();
  #max = 10;
  on(name, fn) { return this.addListener(name, fn); }
  addListener(name, fn) {
    if (typeof fn !== "function") throw new TypeError('The "listener" argument must be a function');
    if (this.#events.has("newListener")) this.emit("newListener", name, fn);
    const list = this.#events.get(name) ?? [];
    list.push(fn);
    this.#events.set(name, list);
    return this;
  }
  prependListener(name, fn) { this.on(name, fn); const l = this.#events.get(name); l.unshift(l.pop()); return this; }
  once(name, fn) {
    const wrapped = (...args) => { this.off(name, wrapped); fn.apply(this, args); };
    wrapped.listener = fn;
    return this.on(name, wrapped);
  }
  off(name, fn) { return this.removeListener(name, fn); }
  removeListener(name, fn) {
    const list = this.#events.get(name);
    if (!list) return this;
    const i = list.findIndex((l) => l === fn || l.listener === fn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#events.delete(name);
    return this;
  }
  removeAllListeners(name) { if (name === undefined) this.#events.clear(); else this.#events.delete(name); return this; }
  emit(name, ...args) {
    const list = this.#events.get(name);
    if (!list || list.length === 0) {
      if (name === "error") throw args[0] instanceof Error ? args[0] : new Error(`Unhandled error. (${inspect(args[0])})`);
      return false;
    }
    for (const fn of [...list]) fn.apply(this, args);
    return true;
  }
  listeners(name) { return (this.#events.get(name) ?? []).map((l) => l.listener ?? l); }
  rawListeners(name) { return [...(this.#events.get(name) ?? [])]; }
  listenerCount(name) { return (this.#events.get(name) ?? []).length; }
  eventNames() { return [...this.#events.keys()]; }
  setMaxListeners(n) { this.#max = n; return this; }
  getMaxListeners() { return this.#max; }
}
EventEmitter.EventEmitter = EventEmitter;
EventEmitter.defaultMaxListeners = 10;
EventEmitter.once = (emitter, name) => new Promise((resolve) => emitter.once(name, (...args) => resolve(args)));

// ---- util -----------------------------------------------------------------------------------------
const util = {
  format: (...args) => format(args),
  inspect: (v) => inspect(v, 1),
  inherits(ctor, superCtor) {
    Object.defineProperty(ctor, "super_", { value: superCtor, writable: true, configurable: true });
    Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
  },
  promisify(fn) {
    if (typeof fn !== "function") throw new TypeError('The "original" argument must be a function');
    return (...args) => new Promise((resolve, reject) => fn(...args, (err, value) => (err ? reject(err) : resolve(value))));
  },
  callbackify(fn) {
    return (...args) => { const cb = args.pop(); fn(...args).then((v) => cb(null, v), (e) => cb(e)); };
  },
  deprecate: (fn) => fn,
  isDeepStrictEqual: (a, b) => JSON.stringify(a) === JSON.stringify(b),
  types: {
    isDate: (v) => v instanceof Date,
    isRegExp: (v) => v instanceof RegExp,
    isPromise: (v) => v instanceof Promise,
    isNativeError: (v) => v instanceof Error,
    isUint8Array: (v) => v instanceof Uint8Array,
  },
  TextEncoder,
  TextDecoder,
};

// ---- path (POSIX) ---------------------------------------------------------------------------------
function normalizeParts(parts, absolute) {
  const out = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === "..") { if (out.length && out[out.length - 1] !== "..") out.pop(); else if (!absolute) out.push(".."); }
    else out.push(p);
  }
  return out;
}
const path = {
  sep: "/",
  delimiter: ":",
  normalize(p) {
    if (p === "") return ".";
    const abs = p.startsWith("/");
    const joined = normalizeParts(p.split("/"), abs).join("/");
    const trailing = p.endsWith("/") && joined ? "/" : "";
    return (abs ? "/" : "") + (joined || (abs ? "" : ".")) + trailing;
  },
  join: (...parts) => path.normalize(parts.filter((p) => p !== "").join("/") || "."),
  resolve(...parts) {
    let resolved = "";
    for (let i = parts.length - 1; i >= 0 && !resolved.startsWith("/"); i--) resolved = parts[i] + (resolved ? "/" + resolved : "");
    return "/" + normalizeParts(resolved.split("/"), true).join("/");
  },
  isAbsolute: (p) => p.startsWith("/"),
  dirname(p) {
    const trimmed = p.replace(/\/+$/, "");
    const i = trimmed.lastIndexOf("/");
    return i < 0 ? "." : i === 0 ? "/" : trimmed.slice(0, i);
  },
  basename(p, ext) {
    const base = p.replace(/\/+$/, "").split("/").pop() ?? "";
    return ext && base.endsWith(ext) && base !== ext ? base.slice(0, -ext.length) : base;
  },
  extname(p) {
    const base = path.basename(p);
    const i = base.lastIndexOf(".");
    return i <= 0 ? "" : base.slice(i);
  },
  relative(from, to) {
    const a = path.resolve(from).split("/").filter(Boolean);
    const b = path.resolve(to).split("/").filter(Boolean);
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
  },
  parse(p) {
    const root = p.startsWith("/") ? "/" : "";
    const base = path.basename(p);
    const ext = path.extname(p);
    return { root, dir: path.dirname(p), base, ext, name: ext ? base.slice(0, -ext.length) : base };
  },
  format: (o) => (o.dir ? o.dir + "/" : o.root ?? "") + (o.base ?? (o.name ?? "") + (o.ext ?? "")),
};
path.posix = path;

// ---- querystring ----------------------------------------------------------------------------------
const querystring = {
  escape: (s) => encodeURIComponent(s),
  unescape: (s) => { try { return decodeURIComponent(s); } catch { return s; } },
  parse(str, sep = "&", eq = "=") {
    const out = Object.create(null);
    for (const part of String(str).split(sep)) {
      if (!part) continue;
      const i = part.indexOf(eq);
      const k = querystring.unescape((i < 0 ? part : part.slice(0, i)).replace(/\+/g, " "));
      const v = i < 0 ? "" : querystring.unescape(part.slice(i + eq.length).replace(/\+/g, " "));
      if (k in out) out[k] = [].concat(out[k], v); else out[k] = v;
    }
    return out;
  },
  stringify(obj, sep = "&", eq = "=") {
    return Object.keys(obj ?? {})
      .flatMap((k) => [].concat(obj[k]).map((v) => querystring.escape(k) + eq + querystring.escape(v === undefined || v === null ? "" : String(v))))
      .join(sep);
  },
};
querystring.decode = querystring.parse;
querystring.encode = querystring.stringify;

// ---- url ------------------------------------------------------------------------------------------
const url = {
  URL,
  URLSearchParams,
  parse(href) {
    const u = new URL(href);
    return { protocol: u.protocol, slashes: true, auth: u.username ? `${u.username}${u.password ? ":" + u.password : ""}` : null,
      host: u.host, port: u.port || null, hostname: u.hostname, hash: u.hash || null, search: u.search || null,
      query: u.search ? u.search.slice(1) : null, pathname: u.pathname, path: u.pathname + u.search, href: u.href };
  },
  format: (u) => (u instanceof URL ? u.href : `${u.protocol ?? "http:"}//${u.host ?? u.hostname ?? ""}${u.pathname ?? "/"}${u.search ?? ""}${u.hash ?? ""}`),
};

// ---- buffer ---------------------------------------------------------------------------------------
function bytesOf(value, encoding = "utf8") {
  const enc = String(encoding).toLowerCase();
  if (enc === "utf8" || enc === "utf-8") return core.encode(value);
  if (enc === "hex") {
    const out = new Uint8Array(Math.floor(value.length / 2));
    for (let i = 0; i < out.length; i++) {
      const n = parseInt(value.substr(i * 2, 2), 16);
      if (Number.isNaN(n)) return out.subarray(0, i);
      out[i] = n;
    }
    return out;
  }
  if (enc === "base64" || enc === "base64url") {
    const s = value.replace(/-/g, "+").replace(/_/g, "/").replace(/[^A-Za-z0-9+/]/g, "");
    const bin = globalThis.atob(s + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  if (enc === "latin1" || enc === "binary" || enc === "ascii") return Uint8Array.from(value, (c) => c.charCodeAt(0) & 255);
  throw new TypeError(`Unknown encoding: ${encoding}`);
}

export class Buffer extends Uint8Array {
  static from(value, encodingOrOffset, length) {
    if (typeof value === "string") return toBuffer(bytesOf(value, encodingOrOffset));
    if (value instanceof ArrayBuffer) return new Buffer(value, encodingOrOffset ?? 0, length ?? value.byteLength - (encodingOrOffset ?? 0));
    if (ArrayBuffer.isView(value) || Array.isArray(value)) return toBuffer(Uint8Array.from(value));
    if (value && value.type === "Buffer" && Array.isArray(value.data)) return toBuffer(Uint8Array.from(value.data));
    throw new TypeError("The first argument must be a string, Buffer, ArrayBuffer or Array");
  }
  static alloc(size, fill = 0) { const b = new Buffer(size); b.fill(typeof fill === "string" ? fill.charCodeAt(0) : fill); return b; }
  static allocUnsafe(size) { return new Buffer(size); }
  static isBuffer(v) { return v instanceof Buffer; }
  static isEncoding(e) { return ["utf8", "utf-8", "hex", "base64", "base64url", "latin1", "binary", "ascii"].includes(String(e).toLowerCase()); }
  static byteLength(v, enc) { return typeof v === "string" ? bytesOf(v, enc).length : v.byteLength; }
  static concat(list, total) {
    const size = total ?? list.reduce((n, b) => n + b.length, 0);
    const out = Buffer.alloc(size);
    let at = 0;
    for (const b of list) { if (at >= size) break; out.set(b.subarray(0, size - at), at); at += b.length; }
    return out;
  }
  toString(encoding = "utf8", start = 0, end = this.length) {
    const bytes = this.subarray(start, end);
    const enc = String(encoding).toLowerCase();
    if (enc === "utf8" || enc === "utf-8") return core.decode(Uint8Array.from(bytes));
    if (enc === "hex") return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const bin = Array.from(bytes, (b) => String.fromCharCode(b)).join("");
    if (enc === "base64") return globalThis.btoa(bin);
    if (enc === "base64url") return globalThis.btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    if (enc === "latin1" || enc === "binary" || enc === "ascii") return bin;
    throw new TypeError(`Unknown encoding: ${encoding}`);
  }
  toJSON() { return { type: "Buffer", data: Array.from(this) }; }
  equals(other) { return this.length === other.length && this.every((b, i) => b === other[i]); }
  compare(other) { for (let i = 0; i < Math.min(this.length, other.length); i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1; return Math.sign(this.length - other.length); }
  slice(start, end) { return this.subarray(start, end); }
  subarray(start, end) { const s = super.subarray(start, end); return new Buffer(s.buffer, s.byteOffset, s.length); }
  write(string, offset = 0, encoding = "utf8") { const b = bytesOf(string, encoding); const n = Math.min(b.length, this.length - offset); this.set(b.subarray(0, n), offset); return n; }
  copy(target, targetStart = 0, start = 0, end = this.length) { const s = this.subarray(start, end); target.set(s.subarray(0, target.length - targetStart), targetStart); return Math.min(s.length, target.length - targetStart); }
}
function toBuffer(u8) { return new Buffer(u8.buffer, u8.byteOffset, u8.length); }

// ---- crypto ---------------------------------------------------------------------------------------
const HASHES = ["md5", "sha1", "sha256", "sha384", "sha512"];
function digestInput(data, encoding) { return typeof data === "string" ? bytesOf(data, encoding) : Uint8Array.from(data); }
function finish(bytes, encoding) { const b = toBuffer(new Uint8Array(bytes)); return encoding ? b.toString(encoding) : b; }

class Hash {
  #alg; #chunks = []; #done = false;
  constructor(alg, key) { this.#alg = alg; this.key = key; }
  update(data, encoding) {
    if (this.#done) throw new Error("Digest already called");
    this.#chunks.push(digestInput(data, encoding));
    return this;
  }
  digest(encoding) {
    if (this.#done) throw new Error("Digest already called");
    this.#done = true;
    const all = Buffer.concat(this.#chunks);
    return finish(this.key === undefined ? op_af_digest(this.#alg, all) : op_af_hmac(this.#alg, this.key, all), encoding);
  }
}
function algorithm(name) {
  const alg = String(name).toLowerCase().replace(/^sha-/, "sha");
  if (!HASHES.includes(alg)) throw new Error(`Digest method not supported: ${name}`);
  return alg;
}
const nodeCrypto = {
  createHash: (name) => new Hash(algorithm(name)),
  createHmac: (name, key) => new Hash(algorithm(name), digestInput(key, "utf8")),
  randomUUID: () => webcrypto.randomUUID(),
  randomBytes(size, cb) {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i += 65536) webcrypto.getRandomValues(b.subarray(i, Math.min(size, i + 65536)));
    if (cb) { queueMicrotask(() => cb(null, b)); return undefined; }
    return b;
  },
  randomFillSync(view, offset = 0, size) {
    const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size ?? view.byteLength - offset);
    for (let i = 0; i < bytes.length; i += 65536) webcrypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
    return view;
  },
  randomInt(min, max) { if (max === undefined) { max = min; min = 0; } const r = new Uint32Array(1); webcrypto.getRandomValues(r); return min + (r[0] % (max - min)); },
  getRandomValues: (a) => webcrypto.getRandomValues(a),
  timingSafeEqual(a, b) { if (a.length !== b.length) throw new RangeError("Input buffers must have the same byte length"); let d = 0; for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i]; return d === 0; },
  getHashes: () => [...HASHES],
  webcrypto,
};

const bufferModule = { Buffer, kMaxLength: 2 ** 32 - 1, constants: { MAX_LENGTH: 2 ** 32 - 1 } };

/** Built-in modules by name, as `require("x")` / `require("node:x")` return them. */
export const nodeBuiltins = {
  events: EventEmitter,
  util,
  path,
  querystring,
  url,
  buffer: bufferModule,
  crypto: nodeCrypto,
};
