// Actions: the library, and the editor with its Test, Dependencies, Secrets, Versions and Logs
// panels. Secret values go to the server and are never read back: the page only ever has names.
import { h, clear, time, badge, toast, guard } from "../dom";
import { get, post, patch, put, del, enc, ApiError, type Session } from "../api";
import { field, showError, busy, resetErrors } from "../forms";
import { createEditor, setHandlers, type Editor } from "../editor";
import { loadTriggers, sampleEvent, defaultCode, type Trigger } from "../catalog";

interface Dependency { name: string; version: string }
interface Action {
  id: string;
  name: string;
  supported_triggers: { id: string; version?: string }[];
  code: string;
  dependencies: Dependency[];
  secrets: { name: string }[];
  status: string;
  build_errors: { message: string; line?: number | null }[];
  all_changes_deployed: boolean;
  deployed_version: number | null;
  updated_at: string;
  installed_from?: { integration: string; version: string; installed_id: string };
}

export async function actionsPage(main: HTMLElement, session: Session): Promise<void> {
  const canWrite = session.scopes.includes("actions:write");
  const [list, triggers] = await Promise.all([
    get<{ actions: Action[] }>("/v1/actions?per_page=100"),
    loadTriggers(),
  ]);
  const bound = new Set<string>();
  if (session.scopes.includes("bindings:read")) {
    const flows = await Promise.all(
      triggers.map((t) => get<{ bindings: { action_id: string }[] }>(`/v1/triggers/${enc(t.id)}/bindings`).catch(() => null)),
    );
    for (const flow of flows) flow?.bindings.forEach((b) => bound.add(b.action_id));
  }
  const search = h("input", { type: "search", placeholder: "Filter by name  ( / )", "data-search": true, "aria-label": "Filter actions" });
  const body = h("tbody");
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const rows = list.actions.filter((a) => a.name.toLowerCase().includes(q));
    clear(
      body,
      rows.length
        ? rows.map((a) =>
            h(
              "tr",
              null,
              h("td", null, h("a", { href: `#/actions/${enc(a.id)}`, class: "strong" }, a.name)),
              h("td", null, a.supported_triggers.map((t) => h("span", { class: "chip" }, t.id))),
              h("td", null, badge(a.status), a.all_changes_deployed || !a.deployed_version ? null : h("span", { class: "muted small" }, " undeployed changes")),
              h("td", null, a.deployed_version ? `v${a.deployed_version}` : "—"),
              h("td", null, bound.has(a.id) ? badge("bound", "ok") : h("span", { class: "muted" }, "not bound")),
              h("td", { class: "muted" }, time(a.updated_at)),
            ),
          )
        : h("tr", null, h("td", { colspan: "6", class: "empty" }, list.actions.length ? "No action matches." : "No action yet: create the first one.")),
    );
  };
  search.addEventListener("input", render);
  render();
  clear(
    main,
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Actions"), h("p", { class: "muted" }, "Code that runs when your users log in, register or change a password.")),
      canWrite ? createForm(triggers) : null),
    h("div", { class: "toolbar" }, search),
    h("table", { class: "table" },
      h("thead", null, h("tr", null, ["Name", "Triggers", "Status", "Deployed", "Flow", "Updated"].map((c) => h("th", null, c)))),
      body),
  );
}

function createForm(triggers: Trigger[]): HTMLElement {
  const name = h("input", { placeholder: "add-custom-claims", autocomplete: "off" });
  const trigger = h("select", null, triggers.map((t) => h("option", { value: t.id }, t.id)));
  const button = h("button", { type: "submit", class: "primary" }, "Create action");
  const form = h("form", { class: "inline-form", "aria-label": "New action" },
    field("Name", "name", name), field("Trigger", "supported_triggers", trigger), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(button, "Creating…", form, async () => {
      const t = triggers.find((x) => x.id === trigger.value) ?? triggers[0];
      const created = await post<Action>("/v1/actions", {
        name: name.value,
        supported_triggers: [{ id: t.id }],
        code: defaultCode(t),
      });
      location.hash = `#/actions/${enc(created.id)}`;
    });
  });
  return form;
}

type Tab = "test" | "dependencies" | "secrets" | "versions" | "logs";

export async function actionEditor(main: HTMLElement, session: Session, [id, initialTab]: string[]): Promise<() => void> {
  const canWrite = session.scopes.includes("actions:write");
  let action = await get<Action>(`/v1/actions/${enc(id)}`);
  const triggers = await loadTriggers();
  const supported = () => triggers.filter((t) => action.supported_triggers.some((s) => s.id === t.id));
  setHandlers(supported().map((t) => t.handler));
  const readOnly = !canWrite || Boolean(action.installed_from);
  let saved = action.code;

  const status = h("span", { "data-testid": "action-status" });
  const problems = h("div", { class: "problems", "aria-live": "polite", "data-testid": "problems" });
  const editorBox = h("div", { class: "editor" });
  const saveButton = h("button", { type: "button", title: "Save Draft (Ctrl/Cmd+S)" }, "Save Draft");
  const deployButton = h("button", { type: "button", class: "primary", title: "Deploy the draft as a new version" }, "Deploy");
  const header = h("div", { class: "editor-head" });
  const renderHeader = () => {
    clear(status, badge(action.status), " ",
      action.deployed_version ? h("span", { class: "muted" }, `deployed v${action.deployed_version}`) : h("span", { class: "muted" }, "never deployed"),
      !action.all_changes_deployed && action.deployed_version ? h("span", { class: "muted" }, " · undeployed changes") : null,
      editor && editor.code() !== saved ? h("span", { class: "dirty" }, " · unsaved") : null);
  };
  const editor: Editor = createEditor(editorBox, action.code, { save: () => void save(), run: () => void runTest() }, readOnly);
  editor.view.dom.addEventListener("keyup", () => renderHeader());
  const showBuildErrors = (errors: { message: string; line?: number | null }[], title: string) => {
    editor.showErrors(errors, title);
    clear(problems, errors.length ? h("div", { class: "problem-list" },
      h("div", { class: "strong" }, title),
      errors.map((e) => h("div", { class: "problem", "data-line": String(e.line ?? "") },
        h("button", { type: "button", class: "link", onclick: () => goToLine(e.line ?? 1) }, e.line ? `line ${e.line}` : "code"),
        " ", e.message))) : null);
  };
  const goToLine = (line: number) => {
    const doc = editor.view.state.doc;
    const target = doc.line(Math.min(Math.max(line, 1), doc.lines));
    editor.view.dispatch({ selection: { anchor: target.from }, scrollIntoView: true });
    editor.view.focus();
  };

  async function save(): Promise<boolean> {
    if (readOnly) return true;
    const code = editor.code();
    try {
      action = await patch<Action>(`/v1/actions/${enc(id)}`, { code });
      saved = code;
      renderHeader();
      toast("Draft saved");
      return true;
    } catch (error) {
      showBuildErrors([{ message: error instanceof ApiError ? error.describe() : String(error) }], "Not saved");
      toast("The draft was not saved", "error");
      return false;
    }
  }

  saveButton.addEventListener("click", () => void save());
  deployButton.addEventListener("click", () => {
    void busy(deployButton, "Building…", problems, async () => {
      if (editor.code() !== saved && !(await save())) return;
      clear(status, badge("building"), " ", h("span", { class: "muted" }, "installing dependencies and checking the code…"));
      try {
        const version = await post<{ number: number }>(`/v1/actions/${enc(id)}/deploy`);
        showBuildErrors([], "");
        toast(`Deployed version ${version.number}`);
        clear(problems, h("div", { class: "success", "data-testid": "deployed" }, `Version ${version.number} deployed.`));
      } catch (error) {
        if (error instanceof ApiError && Array.isArray(error.body.errors) && error.body.errors.length) {
          showBuildErrors(error.body.errors as any, "The build failed");
          toast("The build failed", "error");
        } else throw error;
      } finally {
        action = await get<Action>(`/v1/actions/${enc(id)}`);
        renderHeader();
        if (tab === "versions" || tab === "dependencies") void showTab(tab);
      }
    });
  });

  // Panels
  const panel = h("section", { class: "panel", role: "tabpanel" });
  const tabNames: [Tab, string][] = [["test", "Test"], ["dependencies", "Dependencies"], ["secrets", "Secrets"], ["versions", "Versions"], ["logs", "Live logs"]];
  let tab: Tab = (tabNames.find(([t]) => t === initialTab)?.[0] ?? "test") as Tab;
  const tabButtons = tabNames.map(([t, label]) => {
    const b = h("button", { type: "button", role: "tab", "data-tab": t }, label);
    b.addEventListener("click", () => void showTab(t));
    return b;
  });
  const tabList = h("div", { class: "tabs", role: "tablist" }, tabButtons);
  tabList.addEventListener("keydown", (event) => {
    const i = tabNames.findIndex(([t]) => t === tab);
    const next = event.key === "ArrowRight" ? i + 1 : event.key === "ArrowLeft" ? i - 1 : null;
    if (next === null) return;
    const [t] = tabNames[(next + tabNames.length) % tabNames.length];
    void showTab(t).then(() => tabList.querySelector<HTMLElement>(`[data-tab="${t}"]`)?.focus());
  });
  let closeStream: (() => void) | null = null;
  let runTest: () => Promise<void> = async () => {};

  async function showTab(next: Tab): Promise<void> {
    tab = next;
    closeStream?.();
    closeStream = null;
    tabButtons.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === tab)));
    clear(panel, h("div", { class: "muted" }, "Loading…"));
    try {
      if (tab === "test") runTest = testPanel(panel, id, supported(), editor, save, () => editor.code() !== saved, readOnly);
      if (tab === "dependencies") await dependenciesPanel(panel, id, () => action, (a) => { action = a; renderHeader(); }, readOnly);
      if (tab === "secrets") await secretsPanel(panel, id, canWrite);
      if (tab === "versions") await versionsPanel(panel, id, action, canWrite, async () => {
        action = await get<Action>(`/v1/actions/${enc(id)}`);
        renderHeader();
      });
      if (tab === "logs") closeStream = logsPanel(panel, id);
    } catch (error) {
      showError(panel, error);
    }
  }

  clear(header,
    h("div", null,
      h("a", { href: "#/actions", class: "muted small" }, "← Actions"),
      h("h1", { "data-testid": "action-name" }, action.name),
      h("div", { class: "small" }, action.supported_triggers.map((t) => h("span", { class: "chip" }, t.id)), " ", status),
      action.installed_from ? h("div", { class: "notice" }, `Installed from the marketplace (${action.installed_from.integration} ${action.installed_from.version}): its code is read-only.`) : null),
    readOnly ? null : h("div", { class: "actions-bar" }, saveButton, deployButton));
  renderHeader();
  clear(main, h("div", { class: "editor-page" }, header,
    h("div", { class: "editor-grid" },
      h("div", { class: "editor-col" }, editorBox, problems),
      h("div", { class: "side-col" }, tabList, panel))));
  if (action.status === "failed" && action.build_errors.length) showBuildErrors(action.build_errors, "The last build failed");
  await showTab(tab);
  const beforeUnload = (event: BeforeUnloadEvent) => {
    if (editor.code() !== saved) event.preventDefault();
  };
  // Ctrl/Cmd+S saves from anywhere on the page, not only from the editor.
  const saveKey = (event: KeyboardEvent) => {
    if (!event.defaultPrevented && (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      void save();
    }
  };
  window.addEventListener("beforeunload", beforeUnload);
  document.addEventListener("keydown", saveKey);
  guard.unsaved = () => !readOnly && editor.code() !== saved;
  return () => {
    closeStream?.();
    window.removeEventListener("beforeunload", beforeUnload);
    document.removeEventListener("keydown", saveKey);
    editor.view.destroy();
  };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function testPanel(
  panel: HTMLElement,
  id: string,
  triggers: Trigger[],
  editor: Editor,
  save: () => Promise<boolean>,
  dirty: () => boolean,
  readOnly: boolean,
): () => Promise<void> {
  const trigger = h("select", null, triggers.map((t) => h("option", { value: t.id }, t.id)));
  const event = h("textarea", { rows: "14", spellcheck: "false", class: "mono" });
  const reset = () => (event.value = json(sampleEvent(triggers.find((t) => t.id === trigger.value) ?? triggers[0])));
  reset();
  trigger.addEventListener("change", reset);
  const run = h("button", { type: "submit", class: "primary", title: "Run (Ctrl/Cmd+Enter)" }, "Run");
  const result = h("div", { class: "result", "data-testid": "test-result", "aria-live": "polite" });
  const form = h("form", { class: "stack", "aria-label": "Test" },
    h("p", { class: "muted small" }, "Runs the draft (saved first) with this event and the action's secrets. Nothing is dispatched."),
    triggers.length > 1 ? field("Trigger", "trigger_id", trigger) : null,
    field("Event", "event", event, "A sample event from the trigger's catalog: edit it freely."),
    h("div", { class: "row" }, run, h("button", { type: "button", class: "ghost", onclick: reset }, "Reset event")),
    result);
  const execute = async () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.value);
    } catch (error) {
      throw new ApiError(400, "invalid_json", `not JSON: ${(error as Error).message}`, "event");
    }
    if (!readOnly && dirty() && !(await save())) return;
    clear(result, h("div", { class: "muted" }, "Running…"));
    const outcome = await post<any>(`/v1/actions/${enc(id)}/test`, { event: parsed, trigger_id: trigger.value });
    renderOutcome(result, outcome);
    editor.showErrors(outcome.error?.message ? [{ line: outcome.error.line, message: `${outcome.error.name}: ${outcome.error.message}` }] : [], "test run");
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(run, "Running…", form, execute);
  });
  event.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  clear(panel, form);
  return async () => form.requestSubmit();
}

export function renderOutcome(box: HTMLElement, outcome: any): void {
  const calls: any[] = outcome.api_calls ?? [];
  const logs: any[] = outcome.logs ?? [];
  clear(box,
    h("div", { class: "row" }, badge(outcome.status), h("span", { class: "muted small" }, `${Number(outcome.duration_ms ?? 0).toFixed(1)} ms${outcome.cold_start ? " · cold start" : ""}`)),
    outcome.error?.message ? h("div", { class: "error-box", "data-testid": "test-error" },
      h("div", { class: "strong" }, `${outcome.error.name}: ${outcome.error.message}`),
      outcome.error.line ? h("div", { class: "small" }, `line ${outcome.error.line}`) : null) : null,
    h("h3", null, `API calls (${calls.length})`),
    calls.length ? apiCallList(calls, "api-calls") : h("div", { class: "muted small" }, "None."),
    h("h3", null, `Logs (${logs.length})`),
    logLines(logs, "logs"),
    outcome.logs_dropped ? h("div", { class: "muted small" }, `${outcome.logs_dropped} lines dropped`) : null);
}

/** An outcome's `api` calls, each as `api.method(args…)`. */
export function apiCallList(calls: any[], testid?: string): HTMLElement {
  return h("ul", { class: "calls", "data-testid": testid }, calls.map((c) =>
    h("li", null, h("code", { class: "strong" }, `api.${c.method}`),
      h("code", { class: "muted" }, `(${(c.args ?? []).map((a: unknown) => JSON.stringify(a)).join(", ")})`))));
}

/** Console lines, as text. */
export function logLines(logs: any[], testid?: string): HTMLElement {
  return logs.length
    ? h("ol", { class: "logs", "data-testid": testid }, logs.map((l) =>
        h("li", { class: `log-${l.level}` }, h("span", { class: "level" }, l.level), h("span", { class: "message" }, l.message))))
    : h("div", { class: "muted small" }, "No console output.");
}

/** `name@range`, scoped names included. */
function parseDependency(text: string): Dependency | null {
  const match = /^(@?[^@\s]+)@(\S+)$/.exec(text.trim());
  if (match) return { name: match[1], version: match[2] };
  return /^@?[^@\s]+$/.test(text.trim()) ? { name: text.trim(), version: "latest" } : null;
}

async function dependenciesPanel(
  panel: HTMLElement,
  id: string,
  current: () => Action,
  update: (a: Action) => void,
  readOnly: boolean,
): Promise<void> {
  const action = current();
  let resolved: Record<string, string> = {};
  if (action.deployed_version) {
    const version = await get<any>(`/v1/actions/${enc(id)}/versions/${action.deployed_version}`);
    for (const [path, entry] of Object.entries<any>(version.lockfile?.packages ?? {})) {
      if (path) resolved[path.replace(/^.*node_modules\//, "")] = entry.version;
    }
  }
  const input = h("input", { placeholder: "lodash@^4.17.0", autocomplete: "off", spellcheck: "false" });
  const add = h("button", { type: "submit" }, "Add");
  const form = h("form", { class: "inline-form", "aria-label": "Add a dependency" }, field("Package", "dependencies", input, "name@range, as in package.json"), add);
  const setDeps = async (deps: Dependency[]) => update(await patch<Action>(`/v1/actions/${enc(id)}`, { dependencies: deps }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(add, "Adding…", form, async () => {
      const dep = parseDependency(input.value);
      if (!dep) throw new ApiError(400, "invalid_value", "write name@range, e.g. lodash@^4", "dependencies");
      await setDeps([...current().dependencies.filter((d) => d.name !== dep.name), dep]);
      toast(`${dep.name}@${dep.version} added to the draft`);
      await dependenciesPanel(panel, id, current, update, readOnly);
    });
  });
  const rows = action.dependencies.map((d) => {
    const remove = h("button", { type: "button", class: "ghost small", "aria-label": `Remove ${d.name}` }, "Remove");
    remove.addEventListener("click", () => void busy(remove, "…", panel, async () => {
      await setDeps(current().dependencies.filter((x) => x.name !== d.name));
      await dependenciesPanel(panel, id, current, update, readOnly);
    }));
    return h("tr", null, h("td", { class: "mono" }, d.name), h("td", { class: "mono" }, d.version),
      h("td", { class: "mono" }, resolved[d.name] ?? h("span", { class: "muted" }, "deploy to resolve")), h("td", null, readOnly ? null : remove));
  });
  const transitive = Object.entries(resolved).filter(([name]) => !action.dependencies.some((d) => d.name === name));
  clear(panel,
    readOnly ? null : form,
    h("table", { class: "table compact", "data-testid": "dependencies" },
      h("thead", null, h("tr", null, h("th", null, "Package"), h("th", null, "Range"), h("th", null, "Resolved"), h("th", null))),
      h("tbody", null, rows.length ? rows : h("tr", null, h("td", { colspan: "4", class: "empty" }, "No dependency.")))),
    transitive.length ? h("details", null, h("summary", null, `${transitive.length} more in the deployed lockfile`),
      h("ul", { class: "mono small" }, transitive.map(([n, v]) => h("li", null, `${n}@${v}`)))) : null);
}

async function secretsPanel(panel: HTMLElement, id: string, canWrite: boolean): Promise<void> {
  const { secrets } = await get<{ secrets: { name: string; updated_at: string }[] }>(`/v1/actions/${enc(id)}/secrets`);
  const name = h("input", { placeholder: "API_KEY", autocomplete: "off", spellcheck: "false" });
  const value = h("input", { type: "password", autocomplete: "new-password", placeholder: "value" });
  const save = h("button", { type: "submit" }, "Save secret");
  const form = h("form", { class: "stack", "aria-label": "Set a secret" },
    h("p", { class: "muted small" }, "Values are encrypted and write-only: they are never shown again, and log lines show [REDACTED] instead."),
    field("Name", "name", name), field("Value", "value", value), save);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(save, "Saving…", form, async () => {
      if (!name.value) throw new ApiError(400, "invalid_value", "give the secret a name", "name");
      await put(`/v1/actions/${enc(id)}/secrets/${enc(name.value)}`, { value: value.value });
      value.value = "";
      toast(`Secret ${name.value} saved`);
      await secretsPanel(panel, id, canWrite);
    });
  });
  const rows = secrets.map((s) => {
    const replace = h("button", { type: "button", class: "ghost small" }, "Replace");
    replace.addEventListener("click", () => {
      name.value = s.name;
      value.focus();
    });
    const remove = h("button", { type: "button", class: "ghost small danger" }, "Delete");
    remove.addEventListener("click", () => void busy(remove, "…", panel, async () => {
      if (!confirm(`Delete the secret ${s.name}?`)) return;
      await del(`/v1/actions/${enc(id)}/secrets/${enc(s.name)}`);
      await secretsPanel(panel, id, canWrite);
    }));
    return h("tr", null, h("td", { class: "mono strong" }, s.name), h("td", { class: "muted" }, "•••••••• ", time(s.updated_at)),
      h("td", null, canWrite ? [replace, remove] : null));
  });
  clear(panel,
    h("table", { class: "table compact", "data-testid": "secrets" },
      h("tbody", null, rows.length ? rows : h("tr", null, h("td", { colspan: "3", class: "empty" }, "No secret.")))),
    canWrite ? form : null);
  resetErrors(form);
}

async function versionsPanel(panel: HTMLElement, id: string, action: Action, canWrite: boolean, changed: () => Promise<void>): Promise<void> {
  const { versions } = await get<{ versions: any[] }>(`/v1/actions/${enc(id)}/versions?per_page=100`);
  versions.sort((a, b) => b.number - a.number);
  const options = [h("option", { value: "draft" }, "draft"), ...versions.map((v) => h("option", { value: String(v.number) }, `v${v.number}`))];
  const from = h("select", { "aria-label": "From" }, options.map((o) => o.cloneNode(true)));
  const to = h("select", { "aria-label": "To" }, options.map((o) => o.cloneNode(true)));
  if (versions[0]) from.value = String(versions[0].number);
  to.value = "draft";
  const diffBox = h("div", { class: "diff-box" });
  const compare = h("button", { type: "submit" }, "Compare");
  const form = h("form", { class: "inline-form", "aria-label": "Compare versions" }, field("From", "from", from), field("To", "to", to), compare);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(compare, "…", form, async () => {
      const diff = await get<any>(`/v1/actions/${enc(id)}/versions/${enc(from.value)}/diff/${enc(to.value)}`);
      renderDiff(diffBox, diff);
    });
  });
  const rows = versions.map((v) => {
    const rollback = h("button", { type: "button", class: "ghost small" }, "Roll back to this");
    rollback.addEventListener("click", () => void busy(rollback, "Deploying…", panel, async () => {
      const made = await post<any>(`/v1/actions/${enc(id)}/versions/${v.number}/deploy`);
      toast(`Rolled back: version ${made.number} is a copy of v${v.number}`);
      await changed();
      await versionsPanel(panel, id, action, canWrite, changed);
    }));
    return h("tr", null, h("td", { class: "strong" }, `v${v.number}`), h("td", null, v.deployed ? badge("deployed", "ok") : badge(v.status)),
      h("td", { class: "muted small" }, time(v.created_at), v.copied_from ? ` · copy of v${v.copied_from}` : ""),
      h("td", null, canWrite && !v.deployed ? rollback : null));
  });
  clear(panel,
    h("table", { class: "table compact", "data-testid": "versions" }, h("tbody", null, rows.length ? rows : h("tr", null, h("td", { class: "empty" }, "Not deployed yet.")))),
    versions.length ? form : null, diffBox);
}

/** A unified diff as two columns: removed lines on the left, added on the right. */
export function renderDiff(box: HTMLElement, diff: any): void {
  const rows: HTMLElement[] = [];
  let left: string[] = [];
  let right: string[] = [];
  let ln = 0;
  let rn = 0;
  const flush = () => {
    for (let i = 0; i < Math.max(left.length, right.length); i++) {
      const l = left[i];
      const r = right[i];
      rows.push(h("tr", null,
        h("td", { class: "num" }, l !== undefined ? String(++ln) : ""), h("td", { class: l !== undefined ? "del" : "blank" }, l ?? ""),
        h("td", { class: "num" }, r !== undefined ? String(++rn) : ""), h("td", { class: r !== undefined ? "add" : "blank" }, r ?? "")));
    }
    left = [];
    right = [];
  };
  for (const line of String(diff.code ?? "").split("\n")) {
    if (line.startsWith("---") || line.startsWith("+++") || line === "") continue;
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)/.exec(line);
    if (hunk) {
      flush();
      ln = Number(hunk[1]) - 1;
      rn = Number(hunk[2]) - 1;
      rows.push(h("tr", { class: "hunk" }, h("td", { colspan: "4" }, line)));
    } else if (line.startsWith("-")) left.push(line.slice(1));
    else if (line.startsWith("+")) right.push(line.slice(1));
    else {
      flush();
      const text = line.slice(1);
      rows.push(h("tr", null, h("td", { class: "num" }, String(++ln)), h("td", null, text), h("td", { class: "num" }, String(++rn)), h("td", null, text)));
    }
  }
  flush();
  const changes = (label: string, c: any) =>
    c && (c.added?.length || c.removed?.length || c.changed?.length)
      ? h("div", { class: "small" }, h("span", { class: "strong" }, `${label}: `),
          (c.added ?? []).map((x: any) => h("span", { class: "chip add" }, `+ ${x.name ?? x}${x.version ? `@${x.version}` : ""}`)),
          (c.removed ?? []).map((x: any) => h("span", { class: "chip del" }, `− ${x.name ?? x}${x.version ? `@${x.version}` : ""}`)),
          (c.changed ?? []).map((x: any) => h("span", { class: "chip" }, `${x.name} ${x.from} → ${x.to}`)))
      : null;
  clear(box,
    h("div", { class: "diff-head" }, h("span", { class: "strong" }, diff.from), " → ", h("span", { class: "strong" }, diff.to)),
    changes("Dependencies", diff.dependencies), changes("Secrets", diff.secrets), changes("Triggers", diff.supported_triggers),
    rows.length ? h("table", { class: "diff", "data-testid": "diff" },
      h("thead", null, h("tr", null, h("th", { colspan: "2" }, diff.from), h("th", { colspan: "2" }, diff.to))), h("tbody", null, rows))
      : h("div", { class: "muted" }, "The code is the same."));
}

function logsPanel(panel: HTMLElement, id: string): () => void {
  const list = h("ol", { class: "logs tail", "data-testid": "live-logs" });
  const state = h("div", { class: "muted small", "data-testid": "live-logs-state" }, "Connecting…");
  const source = new EventSource(`/v1/actions/${enc(id)}/logs/stream`);
  source.addEventListener("open", () => clear(state, "Following: lines of every execution of this action appear as each one ends."));
  source.addEventListener("error", () => clear(state, "Disconnected: retrying…"));
  source.addEventListener("log", (e) => {
    const line = JSON.parse((e as MessageEvent).data);
    list.appendChild(h("li", { class: `log-${line.level}` },
      h("span", { class: "muted small" }, new Date(line.at).toLocaleTimeString(), ` v${line.version} `),
      h("span", { class: "level" }, line.level), h("span", { class: "message" }, line.message)));
    while (list.children.length > 500) list.firstChild?.remove();
    list.scrollTop = list.scrollHeight;
  });
  source.addEventListener("lagged", (e) => list.appendChild(h("li", { class: "muted" }, `${(e as MessageEvent).data} lines missed`)));
  clear(panel, state, list);
  return () => source.close();
}
