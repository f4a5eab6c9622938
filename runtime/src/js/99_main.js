// Copyright Actionflow authors. Apache-2.0.
// Entry point of the bootstrap, evaluated once into the startup snapshot. It installs the globals an
// action may use and leaves `globalThis.__afBootstrap` for Rust to take (and delete) when an isolate is
// created from the snapshot, so actions cannot reach the engine's own functions.
import { inspect, makeConsole } from "ext:actionflow/00_console.js";
import {
  atob, btoa, crypto, DOMException, structuredClone, TextDecoder, TextDecoderStream, TextEncoder, TextEncoderStream,
  timerGlobals, URL, URLSearchParams, webScript,
} from "ext:actionflow/01_web.js";
import { fetch, FormData, Headers, Request, Response } from "ext:actionflow/02_fetch.js";
import { apiFor, recordInto } from "ext:actionflow/03_api.js";
import { requireForImport, runCommonJs } from "ext:actionflow/04_require.js";
import { builtin, prepareNodeBootstrap } from "ext:actionflow/05_node.js";
import { denoFields, installDeno } from "ext:actionflow/06_deno.js";
import { op_af_settled } from "ext:core/ops";

const stringifyJson = JSON.stringify;
const parseJson = JSON.parse;
// Kept from before any action runs: an action replacing `Object.freeze` must not unfreeze later events.
const freeze = Object.freeze;
const keysOf = Object.keys;

prepareNodeBootstrap();
// Web globals Node's polyfills (and packages) use, from deno_web.
const { AbortController, AbortSignal } = webScript("03_abort_signal.js");
const { Event, EventTarget } = webScript("02_event.js");
const { performance } = webScript("15_performance.js");
const { Blob, File } = webScript("09_file.js");
const {
  ByteLengthQueuingStrategy, CountQueuingStrategy, ReadableStream, ReadableStreamDefaultReader, TransformStream,
  WritableStream, WritableStreamDefaultWriter,
} = webScript("06_streams.js");
const { CompressionStream, DecompressionStream } = webScript("14_compression.js");
Object.assign(globalThis.Deno, denoFields());

const globals = {
  console: makeConsole(),
  ...timerGlobals,
  TextEncoder, TextDecoder, atob, btoa, URL, URLSearchParams, crypto, structuredClone, DOMException,
  fetch, FormData, Headers, Request, Response, Blob, File,
  ReadableStream, ReadableStreamDefaultReader, WritableStream, WritableStreamDefaultWriter, TransformStream,
  ByteLengthQueuingStrategy, CountQueuingStrategy, TextEncoderStream, TextDecoderStream, CompressionStream,
  DecompressionStream,
  AbortController, AbortSignal, Event, EventTarget, performance,
  // Node's globals that packages written for Auth0's Node.js runtime expect (`process` below).
  Buffer: builtin("buffer").Buffer,
  global: globalThis,
  setImmediate: (cb, ...args) => timerGlobals.setTimeout(cb, 0, ...args),
  clearImmediate: (id) => timerGlobals.clearTimeout(id),
};
for (const [name, value] of Object.entries(globals)) {
  Object.defineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
}
// `process`, loaded on first use (most actions never touch it): deno_node's, fitted for actions.
Object.defineProperty(globalThis, "process", {
  get() {
    const process = builtin("process");
    Object.defineProperty(globalThis, "process", { value: process, writable: true, enumerable: false, configurable: true });
    return process;
  },
  set(value) {
    Object.defineProperty(globalThis, "process", { value, writable: true, enumerable: false, configurable: true });
  },
  enumerable: false,
  configurable: true,
});

// Resizable ArrayBuffers reserve and commit memory outside the allocator's budget: refuse them. The
// wrapper shares the native prototype, so `instanceof ArrayBuffer` and subclasses behave as before.
const NativeArrayBuffer = ArrayBuffer;
function ArrayBufferWithoutResize(length, options) {
  if (new.target === undefined) throw new TypeError("Constructor ArrayBuffer requires 'new'");
  if (options !== null && typeof options === "object" && options.maxByteLength !== undefined) {
    throw new RangeError("resizable ArrayBuffers are not available in actions");
  }
  return Reflect.construct(NativeArrayBuffer, [length], new.target);
}
ArrayBufferWithoutResize.prototype = NativeArrayBuffer.prototype;
ArrayBufferWithoutResize.isView = NativeArrayBuffer.isView;
Object.defineProperty(ArrayBufferWithoutResize, "name", { value: "ArrayBuffer" });
Object.defineProperty(NativeArrayBuffer.prototype, "constructor", { value: ArrayBufferWithoutResize, writable: true, configurable: true });
Object.defineProperty(globalThis, "ArrayBuffer", { value: ArrayBufferWithoutResize, writable: true, configurable: true });

let handlers = null;

/**
 * Freezes, deeply, what `JSON.parse` just made: nothing in it is frozen yet and it has no cycles, so
 * it asks neither, and it recurses only into objects.
 */
function freezeParsed(value) {
  freeze(value);
  const keys = keysOf(value);
  for (let i = 0; i < keys.length; i++) {
    const member = value[keys[i]];
    if (member !== null && typeof member === "object") freezeParsed(member);
  }
  return value;
}

// An action throwing a 100 MiB message must not make its outcome (stored, served) 100 MiB. Rust
// keeps 16 KiB of an error's texts after redacting secrets in them; the cut here, in characters, is
// far beyond that, so that redaction still sees whole every secret that could reach what is kept.
const ERROR_TEXT_MAX = 64 * 1024;
const EXPORT_NAMES_MAX = 50;
const cut = (text) => (text.length > ERROR_TEXT_MAX ? `${text.slice(0, ERROR_TEXT_MAX)}\u2026` : text);

function describe(e) {
  try {
    if (e instanceof Error) {
      return { name: cut(String(e.name)), message: cut(String(e.message)), stack: typeof e.stack === "string" ? cut(e.stack) : null };
    }
    return { name: "Error", message: cut(`Uncaught ${inspect(e, 1)}`), stack: null };
  } catch {
    return { name: "Error", message: "Uncaught exception that could not be described", stack: null };
  }
}

/** The action is CommonJS: `fn` is its source compiled by Rust as a function wrapper. */
function setCommonJs(fn) {
  handlers = runCommonJs(fn, "/action.js").exports;
}

/** The action is an ES module: `ns` is its namespace. */
function setModule(ns) {
  handlers = ns;
}

function exportNames() {
  return handlers === null || typeof handlers !== "object" ? [] : Object.keys(handlers).slice(0, EXPORT_NAMES_MAX).map(cut);
}

// The execution in progress: its number and its promise. Rust calls `start` and lets the event loop
// turn once; a handler that settled by then has handed its result to Rust through `op_af_settled`, so
// no promise and no second call cross into Rust on that path. A handler still waiting (a fetch, a
// timer) is awaited through `pending`, and its result comes as that promise's value.
let executions = 0;
let current = 0;
let currentPromise = null;

/** Runs execution number `id`. Never rejects: a throw from the action is returned as `error`. */
async function run(id, handlerName, methods, eventJson, secretsJson, apiBytesMax) {
  const calls = [];
  let error = null;
  try {
    const handler = handlers?.[handlerName];
    if (typeof handler !== "function") return settle(id, stringifyJson({ missing: exportNames() }));
    const event = parseJson(eventJson);
    event.secrets = secretsJson === null ? {} : parseJson(secretsJson);
    freezeParsed(event);
    recordInto(calls, apiBytesMax);
    await handler(event, apiFor(methods));
  } catch (e) {
    error = describe(e);
  }
  recordInto(null);
  // The calls are JSON texts already: join them without a round trip through objects.
  let text = "";
  for (let i = 0; i < calls.length; i++) text += i === 0 ? calls[i] : `,${calls[i]}`;
  return settle(id, `{"calls":[${text}],"error":${stringifyJson(error)}}`);
}

/** Hands `result` to Rust if execution `id` is still the one in progress (not awaited by `pending`). */
function settle(id, result) {
  if (current === id) {
    current = 0;
    currentPromise = null;
    op_af_settled(result);
  }
  return result;
}

function start(handlerName, methods, eventJson, secretsJson, apiBytesMax) {
  const id = ++executions;
  current = id;
  const promise = run(id, handlerName, methods, eventJson, secretsJson, apiBytesMax);
  if (current === id) currentPromise = promise;
}

function pending() {
  const promise = currentPromise;
  current = 0;
  currentPromise = null;
  return promise;
}

globalThis.__afBootstrap = { start, pending, setCommonJs, setModule, requireForImport, describe, installDeno };
