// The code editor: CodeMirror 6 with JavaScript highlighting, syntax errors as you type, the
// server's errors (build, test run) on their lines, and completion: for actions, `event.` and
// `api.` from runtime/types/actions.d.ts (read at build time into generated/types.json); for
// extensions, the webtask context `ctx.` and the programming models.
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { EditorState, Prec } from "@codemirror/state";
import { javascript, javascriptLanguage } from "@codemirror/lang-javascript";
import { syntaxTree } from "@codemirror/language";
import { linter, setDiagnostics, type Diagnostic, lintGutter } from "@codemirror/lint";
import type { CompletionContext, CompletionResult, Completion } from "@codemirror/autocomplete";
import types from "./generated/types.json";

interface Entry {
  type: string;
  doc: string;
  method: boolean;
  children?: Record<string, Entry>;
}
type Tree = Record<string, Entry>;
const handlers = types as Record<string, { event: Tree; api: Tree }>;

/** The handler names of the triggers an action supports, set by the page. */
let currentHandlers: string[] = [];
export function setHandlers(names: string[]): void {
  currentHandlers = names;
}

function merged(part: "event" | "api"): Tree {
  const names = currentHandlers.length ? currentHandlers : Object.keys(handlers);
  const out: Tree = {};
  for (const name of names) Object.assign(out, handlers[name]?.[part] ?? {});
  return out;
}

function completeTypes(context: CompletionContext): CompletionResult | null {
  const before = context.matchBefore(/(?:event|api)(?:\.[A-Za-z_$][\w$]*)*\.[\w$]*$/);
  if (before) {
    const parts = before.text.split(".");
    const prefix = parts.pop() ?? "";
    let tree: Tree | undefined = merged(parts[0] as "event" | "api");
    for (const part of parts.slice(1)) tree = tree?.[part]?.children;
    if (!tree) return null;
    const options: Completion[] = Object.entries(tree).map(([label, entry]) => ({
      label,
      type: entry.method ? "method" : "property",
      detail: entry.type.length > 60 ? `${entry.type.slice(0, 57)}…` : entry.type,
      info: entry.doc || undefined,
    }));
    return { from: before.to - prefix.length, options, validFor: /^[\w$]*$/ };
  }
  const word = context.matchBefore(/[\w$]+/);
  if (!word || (word.from === word.to && !context.explicit)) return null;
  const options: Completion[] = Object.keys(handlers).map((name) => ({
    label: name,
    type: "function",
    detail: "handler",
    apply: `exports.${name} = async (event, api) => {\n  \n};`,
  }));
  options.push({ label: "event", type: "variable" }, { label: "api", type: "variable" });
  return { from: word.from, options, validFor: /^[\w$]*$/ };
}

/** What a webtask's `ctx` holds (README, "Webtasks"), and the programming models. */
const CTX: Tree = {
  query: { type: "Record<string, string>", doc: "The query parameters, without the webtask_* ones.", method: false },
  body: { type: "any", doc: "The request body, parsed for JSON and form bodies (callback models only).", method: false },
  headers: { type: "Record<string, string>", doc: "The request headers, lower-case.", method: false },
  secrets: { type: "Record<string, string>", doc: "The extension's secrets.", method: false },
  meta: { type: "Record<string, string>", doc: "The extension's metadata.", method: false },
  id: { type: "string", doc: "The request's id.", method: false },
  token: { type: "string", doc: "The extension's storage token.", method: false },
  storage: {
    type: "Storage", doc: "One JSON document per extension (500 KB), with optimistic concurrency.", method: false,
    children: {
      get: { type: "(cb: (error, data) => void) => void", doc: "Reads the document.", method: true },
      set: { type: "(data, options?: { force: 1 }, cb) => void", doc: "Writes the document; a stale write fails with error.code 409 unless forced.", method: true },
    },
  },
};

const MODELS: [string, string, string][] = [
  ["(ctx, cb)", "context and callback", "module.exports = function (ctx, cb) {\n  cb(null, { hello: ctx.query.name || 'world' });\n};"],
  ["(cb)", "callback only", "module.exports = function (cb) {\n  cb(null, { hello: 'world' });\n};"],
  ["(ctx, req, res)", "full HTTP control", "module.exports = function (ctx, req, res) {\n  res.writeHead(200, { 'Content-Type': 'application/json' });\n  res.end(JSON.stringify({ hello: 'world' }));\n};"],
  ["async (ctx)", "returns a value", "module.exports = async function (ctx) {\n  return { hello: ctx.query.name || 'world' };\n};"],
];

function completeWebtask(context: CompletionContext): CompletionResult | null {
  const before = context.matchBefore(/ctx(?:\.[A-Za-z_$][\w$]*)*\.[\w$]*$/);
  if (before) {
    const parts = before.text.split(".");
    const prefix = parts.pop() ?? "";
    let tree: Tree | undefined = CTX;
    for (const part of parts.slice(1)) tree = tree?.[part]?.children;
    if (!tree) return null;
    const options: Completion[] = Object.entries(tree).map(([label, entry]) => ({
      label, type: entry.method ? "method" : "property", detail: entry.type, info: entry.doc,
    }));
    return { from: before.to - prefix.length, options, validFor: /^[\w$]*$/ };
  }
  const word = context.matchBefore(/[\w$.]+/);
  if (!word || (word.from === word.to && !context.explicit)) return null;
  const options: Completion[] = MODELS.map(([label, detail, apply]) => ({ label: `module.exports = function ${label}`, type: "function", detail, apply }));
  options.push({ label: "ctx", type: "variable" });
  return { from: word.from, options, validFor: /^[\w$.]*$/ };
}

/** Syntax errors as the parser sees them, while typing. */
const syntaxErrors = linter((view) => {
  const found: Diagnostic[] = [];
  syntaxTree(view.state).iterate({
    enter(node) {
      if (node.type.isError && found.length < 20) {
        const from = node.from;
        const to = Math.max(node.to, Math.min(from + 1, view.state.doc.length));
        found.push({ from, to, severity: "error", message: "syntax error", source: "editor" });
      }
    },
  });
  return found;
});

export interface LineError {
  line?: number | null;
  message: string;
}

export interface Editor {
  view: EditorView;
  code(): string;
  setCode(code: string): void;
  /** Marks these errors in the editor (a missing line marks the first line). */
  showErrors(errors: LineError[], source: string): void;
}

export function createEditor(
  parent: HTMLElement,
  code: string,
  keys: { save: () => void; run: () => void },
  readOnly = false,
  kind: "action" | "webtask" = "action",
): Editor {
  const shortcuts = Prec.highest(
    keymap.of([
      { key: "Mod-s", preventDefault: true, run: () => (keys.save(), true) },
      { key: "Mod-Enter", preventDefault: true, run: () => (keys.run(), true) },
    ]),
  );
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: code,
      extensions: [
        shortcuts,
        basicSetup,
        javascript(),
        javascriptLanguage.data.of({ autocomplete: kind === "action" ? completeTypes : completeWebtask }),
        syntaxErrors,
        lintGutter(),
        EditorView.lineWrapping,
        EditorState.readOnly.of(readOnly),
        EditorView.contentAttributes.of({ "aria-label": kind === "action" ? "Action code" : "Extension code" }),
        // The page's Content-Security-Policy admits the editor's <style> elements by this nonce.
        EditorView.cspNonce.of(document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? ""),
      ],
    }),
  });
  return {
    view,
    code: () => view.state.doc.toString(),
    setCode(next: string) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } });
    },
    showErrors(errors, source) {
      const doc = view.state.doc;
      const diagnostics = errors.map((e) => {
        const line = doc.line(Math.min(Math.max(e.line ?? 1, 1), doc.lines));
        return { from: line.from, to: line.to, severity: "error" as const, message: e.message, source };
      });
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
  };
}
