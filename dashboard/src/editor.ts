// The code editor: CodeMirror 6 with JavaScript highlighting, syntax errors as you type, the
// server's errors (build, test run) on their lines, and completion of `event.` and `api.` from
// runtime/types/actions.d.ts (read at build time into generated/types.json).
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
        javascriptLanguage.data.of({ autocomplete: completeTypes }),
        syntaxErrors,
        lintGutter(),
        EditorView.lineWrapping,
        EditorState.readOnly.of(readOnly),
        EditorView.contentAttributes.of({ "aria-label": "Action code" }),
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
