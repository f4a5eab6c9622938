// Copyright Actionflow authors. Apache-2.0.
// The small web globals an action may use: timers, queueMicrotask, crypto.randomUUID/getRandomValues
// and structuredClone of our own; TextEncoder/TextDecoder, atob/btoa, DOMException, URL and
// URLSearchParams from deno_web.
import { core } from "ext:core/mod.js";
import { op_af_random_fill, op_af_random_uuid } from "ext:core/ops";

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

// ---- text, base64, DOMException, URL: deno_web's ---------------------------------------------------
/** One of deno_web's scripts, evaluated once (the bootstrap takes its other web globals with it). */
export const webScript = (name) => core.loadExtScript(`ext:deno_web/${name}`);
export const { TextDecoder, TextEncoder, TextDecoderStream, TextEncoderStream } = webScript("08_text_encoding.js");
export const { atob, btoa } = webScript("05_base64.js");
export const { DOMException } = webScript("01_dom_exception.js");
export const { URL, URLSearchParams } = webScript("00_url.js");

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
