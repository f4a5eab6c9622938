// Copyright Actionflow authors. Apache-2.0.
// console: formats its arguments like Node's util.format / util.inspect (a compact subset) and hands each
// line to Rust, which keeps it within the execution's log limits and redacts secrets.
import { op_af_log } from "ext:core/ops";

const LEVELS = { log: 0, info: 1, warn: 2, error: 3, debug: 4 };
const MAX_DEPTH = 4;
const MAX_ITEMS = 100;

function quote(s) {
  return "'" + String(s).replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n") + "'";
}

function keyText(k) {
  return typeof k === "symbol" ? `[${String(k)}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k);
}

export function inspect(value, depth = 0, seen = []) {
  switch (typeof value) {
    case "string": return depth === 0 ? value : quote(value);
    case "number": return Object.is(value, -0) ? "-0" : String(value);
    case "bigint": return `${value}n`;
    case "boolean": return String(value);
    case "undefined": return "undefined";
    case "symbol": return String(value);
    case "function": return `[${value.constructor?.name === "AsyncFunction" ? "AsyncFunction" : "Function"}: ${value.name || "(anonymous)"}]`;
  }
  if (value === null) return "null";
  if (seen.includes(value)) return "[Circular]";
  if (value instanceof Error) return value.stack || `${value.name}: ${value.message}`;
  if (value instanceof Date) return isNaN(value) ? "Invalid Date" : value.toISOString();
  if (value instanceof RegExp) return String(value);
  if (typeof value.then === "function" && value instanceof Promise) return "Promise { <pending> }";
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[Array]" : "[Object]";
  const next = [...seen, value];
  const child = (v) => inspect(v, depth + 1, next);
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map(child);
    if (value.length > MAX_ITEMS) items.push(`... ${value.length - MAX_ITEMS} more items`);
    return items.length ? `[ ${items.join(", ")} ]` : "[]";
  }
  if (ArrayBuffer.isView(value)) {
    const items = Array.from(value.slice(0, MAX_ITEMS)).map(String);
    return `${value.constructor.name}(${value.length}) [ ${items.join(", ")} ]`;
  }
  if (value instanceof Map) {
    const items = [...value].slice(0, MAX_ITEMS).map(([k, v]) => `${child(k)} => ${child(v)}`);
    return `Map(${value.size}) { ${items.join(", ")} }`;
  }
  if (value instanceof Set) {
    return `Set(${value.size}) { ${[...value].slice(0, MAX_ITEMS).map(child).join(", ")} }`;
  }
  const keys = Reflect.ownKeys(value).filter((k) => Object.prototype.propertyIsEnumerable.call(value, k));
  const items = keys.slice(0, MAX_ITEMS).map((k) => `${keyText(k)}: ${child(value[k])}`);
  if (keys.length > MAX_ITEMS) items.push(`... ${keys.length - MAX_ITEMS} more items`);
  const name = value.constructor && value.constructor !== Object ? `${value.constructor.name} ` : "";
  return items.length ? `${name}{ ${items.join(", ")} }` : `${name}{}`;
}

export function format(args) {
  if (args.length === 0) return "";
  let first = args[0];
  let rest = 1;
  let out;
  if (typeof first === "string" && first.includes("%")) {
    out = first.replace(/%([sdifjoOc%])/g, (m, c) => {
      if (c === "%") return "%";
      if (rest >= args.length) return m;
      const a = args[rest++];
      switch (c) {
        case "s": return typeof a === "string" ? a : inspect(a, 1);
        case "d": case "i": return typeof a === "bigint" ? `${a}n` : String(c === "i" ? parseInt(a) : Number(a));
        case "f": return String(parseFloat(a));
        case "j": try { return JSON.stringify(a); } catch { return "[Circular]"; }
        case "c": return "";
        default: return inspect(a, 1);
      }
    });
  } else {
    out = inspect(first);
  }
  for (; rest < args.length; rest++) out += " " + inspect(args[rest]);
  return out;
}

function emit(level, args) {
  op_af_log(LEVELS[level], format(args));
}

export function makeConsole() {
  const counts = new Map();
  const timers = new Map();
  const console = {
    log: (...a) => emit("log", a),
    info: (...a) => emit("info", a),
    warn: (...a) => emit("warn", a),
    error: (...a) => emit("error", a),
    debug: (...a) => emit("debug", a),
    trace: (...a) => emit("debug", [format(a) + "\n" + (new Error().stack ?? "").split("\n").slice(2).join("\n")]),
    dir: (v) => emit("log", [inspect(v, 1)]),
    table: (v) => emit("log", [inspect(v, 1)]),
    assert: (cond, ...a) => { if (!cond) emit("error", ["Assertion failed" + (a.length ? ": " + format(a) : "")]); },
    count: (label = "default") => { const n = (counts.get(label) ?? 0) + 1; counts.set(label, n); emit("log", [`${label}: ${n}`]); },
    countReset: (label = "default") => counts.delete(label),
    time: (label = "default") => timers.set(label, Date.now()),
    timeEnd: (label = "default") => {
      const t = timers.get(label);
      if (t !== undefined) { timers.delete(label); emit("log", [`${label}: ${Date.now() - t}ms`]); }
    },
    timeLog: (label = "default", ...a) => {
      const t = timers.get(label);
      if (t !== undefined) emit("log", [`${label}: ${Date.now() - t}ms`, ...a]);
    },
  };
  return console;
}
