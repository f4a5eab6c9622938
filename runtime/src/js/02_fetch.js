// Copyright Actionflow authors. Apache-2.0.
// fetch, Headers and Response over the host's HTTP client (the `op_af_fetch` op). The op applies the
// network policy (private addresses) and bounds the request by the execution's remaining time.
import { core } from "ext:core/mod.js";
import { op_af_fetch } from "ext:core/ops";

export class Headers {
  #map = new Map(); // lower-case name -> [name, value]
  constructor(init) {
    if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else if (init && typeof init === "object") for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  #check(name) {
    const n = String(name);
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n)) throw new TypeError(`Invalid header name: "${n}"`);
    return n.toLowerCase();
  }
  append(name, value) {
    const key = this.#check(name);
    const v = String(value).trim();
    const prev = this.#map.get(key);
    this.#map.set(key, prev === undefined ? v : `${prev}, ${v}`);
  }
  set(name, value) { this.#map.set(this.#check(name), String(value).trim()); }
  get(name) { const v = this.#map.get(this.#check(name)); return v === undefined ? null : v; }
  has(name) { return this.#map.has(this.#check(name)); }
  delete(name) { this.#map.delete(this.#check(name)); }
  forEach(fn, thisArg) { for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this); }
  entries() { return [...this.#map].sort((a, b) => (a[0] < b[0] ? -1 : 1))[Symbol.iterator](); }
  keys() { return [...this.entries()].map(([k]) => k)[Symbol.iterator](); }
  values() { return [...this.entries()].map(([, v]) => v)[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
}

function bodyBytes(body, headers) {
  if (body === undefined || body === null) return null;
  if (typeof body === "string") {
    if (!headers.has("content-type")) headers.set("content-type", "text/plain;charset=UTF-8");
    return core.encode(body);
  }
  if (body instanceof URLSearchParams) {
    if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
    return core.encode(body.toString());
  }
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  throw new TypeError("fetch: body must be a string, URLSearchParams, ArrayBuffer or typed array");
}

export class Response {
  #body;
  #used = false;
  constructor(body = null, init = {}) {
    this.status = init.status ?? 200;
    this.statusText = init.statusText ?? "";
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.url = init.url ?? "";
    this.redirected = init.redirected ?? false;
    this.#body = body === null ? new Uint8Array(0) : bodyBytes(body, this.headers);
  }
  get ok() { return this.status >= 200 && this.status < 300; }
  get bodyUsed() { return this.#used; }
  #take() {
    if (this.#used) return Promise.reject(new TypeError("Body is unusable: Body has already been read"));
    this.#used = true;
    return Promise.resolve(this.#body);
  }
  async arrayBuffer() { const b = await this.#take(); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); }
  async bytes() { return new Uint8Array(await this.arrayBuffer()); }
  async text() { return core.decode(await this.#take()); }
  async json() { return JSON.parse(await this.text()); }
  clone() {
    if (this.#used) throw new TypeError("Response.clone: Body has already been consumed");
    return new Response(this.#body.slice(0), this);
  }
  static json(data, init = {}) {
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(JSON.stringify(data), { ...init, headers });
  }
}

export async function fetch(input, init = {}) {
  let url;
  let method = "GET";
  let headers = new Headers();
  let body;
  if (typeof input === "string" || input instanceof URL) url = String(input);
  else if (input && typeof input === "object" && typeof input.url === "string") {
    url = input.url;
    method = input.method ?? method;
    headers = new Headers(input.headers);
    body = input.body;
  } else throw new TypeError("fetch: the first argument must be a URL string, a URL or a Request-like object");
  if (init.method !== undefined) method = String(init.method).toUpperCase();
  if (init.headers !== undefined) headers = new Headers(init.headers);
  if (init.body !== undefined) body = init.body;
  if ((method === "GET" || method === "HEAD") && body != null) throw new TypeError("fetch: a GET or HEAD request cannot have a body");
  const bytes = bodyBytes(body, headers);
  const redirect = init.redirect ?? "follow";
  if (!["follow", "error", "manual"].includes(redirect)) throw new TypeError(`fetch: unknown redirect mode "${redirect}"`);
  const res = await op_af_fetch(
    { url, method, headers: [...headers], redirect, hasBody: bytes !== null },
    bytes ?? new Uint8Array(0),
  );
  return new Response(res.body.length ? res.body : null, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
    url: res.url,
    redirected: res.redirected,
  });
}
