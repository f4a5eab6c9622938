// Extensions (webtasks): the tenant's containers with their extensions, and an extension's page —
// its code in the same editor as actions (Save, Ctrl/Cmd+S), its URL, and the Runner, Secrets,
// Meta, Cron and Logs panels (extension-panels.ts, runner.ts). Everything goes through the Extend
// API (/api/webtask, /api/cron, /api/logs/tenant) with the session cookie; secret values go to the
// server and never come back: the page only ever has their names.
import { h, clear, time, badge, toast, guard } from "../dom";
import { get, put, patch, del, enc, ApiError, type Session } from "../api";
import { field, showError, busy } from "../forms";
import { createEditor, type Editor } from "../editor";
import { runnerPanel } from "./runner";
import { secretsPanel, metaPanel, cronPanel, logsPanel } from "./extension-panels";

export interface Webtask {
  container: string;
  name: string;
  meta: Record<string, string>;
  webtask_url: string;
  secret_names: string[];
  dependencies: Record<string, string>;
  code?: string;
  created_at: string;
  updated_at: string;
}

export interface Cron { container: string; name: string; schedule: string; tz: string; state: string; next_scheduled_at: string }

const STARTER = `/**
 * An extension: called at its URL with any method. Context: ctx.query, ctx.body, ctx.headers,
 * ctx.secrets, ctx.meta, ctx.storage.
 */
module.exports = function (ctx, cb) {
  console.log("called with", JSON.stringify(ctx.query));
  cb(null, { hello: ctx.query.name || "world" });
};
`;

export const path = (w: { container: string; name: string }) => `${enc(w.container)}/${enc(w.name)}`;

export async function extensionsPage(main: HTMLElement, session: Session): Promise<void> {
  const canWrite = session.scopes.includes("webtasks:write");
  const list = await get<Webtask[]>("/api/webtask?limit=1000");
  const containers = [...new Set(list.map((w) => w.container))];
  const crons = new Map<string, Cron>();
  await Promise.all(containers.map((c) => get<Cron[]>(`/api/cron/${enc(c)}`)
    .then((jobs) => jobs.forEach((j) => crons.set(`${j.container}/${j.name}`, j)))
    .catch(() => undefined)));
  const search = h("input", { type: "search", placeholder: "Filter by container, name or meta  ( / )", "data-search": true, "aria-label": "Filter extensions" });
  const body = h("div", { class: "stack", "data-testid": "extensions" });
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = list.filter((w) => [w.container, w.name, ...Object.entries(w.meta).map(([k, v]) => `${k}:${v}`)]
      .some((text) => text.toLowerCase().includes(q)));
    const groups = [...new Set(shown.map((w) => w.container))];
    clear(body, groups.length ? groups.map((container) => h("section", { class: "card tight", "data-container": container },
      h("div", { class: "row" }, h("span", { class: "muted small" }, "Container"), h("span", { class: "strong mono" }, container),
        h("span", { class: "muted small" }, `${shown.filter((w) => w.container === container).length} extension(s)`)),
      h("table", { class: "table compact" },
        h("thead", null, h("tr", null, ["Name", "Meta", "Secrets", "Cron", "Updated"].map((c) => h("th", null, c)))),
        h("tbody", null, shown.filter((w) => w.container === container).map((w) => row(w, crons.get(`${w.container}/${w.name}`)))))))
      : h("p", { class: "muted card empty" }, list.length ? "No extension matches." : "No extension yet: create the first one."));
  };
  search.addEventListener("input", render);
  render();
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Extensions"),
      h("p", { class: "muted" }, "Your functions behind a URL, in the Webtask models: run them, keep their secrets, schedule them.")),
      canWrite ? createForm(containers) : null),
    h("div", { class: "toolbar" }, search),
    body);
}

function row(w: Webtask, cron: Cron | undefined): HTMLElement {
  const meta = Object.entries(w.meta);
  return h("tr", null,
    h("td", null, h("a", { href: `#/extensions/${path(w)}`, class: "strong" }, w.name)),
    h("td", null, meta.slice(0, 3).map(([k, v]) => h("span", { class: "chip mono" }, `${k}: ${v.length > 32 ? `${v.slice(0, 31)}…` : v}`)),
      meta.length > 3 ? h("span", { class: "muted small" }, `+${meta.length - 3}`) : null),
    h("td", { class: "muted" }, String(w.secret_names.length)),
    h("td", null, cron ? [h("span", { class: "mono small" }, cron.schedule), " ", badge(cron.state, cron.state === "active" ? "ok" : "pending")] : h("span", { class: "muted" }, "—")),
    h("td", { class: "muted small" }, time(w.updated_at)));
}

function createForm(containers: string[]): HTMLElement {
  const container = h("input", { placeholder: "my-container", autocomplete: "off", spellcheck: "false", list: "wt-containers", value: containers[0] ?? "" });
  const name = h("input", { placeholder: "hello", autocomplete: "off", spellcheck: "false" });
  const button = h("button", { type: "submit", class: "primary" }, "Create extension");
  const form = h("form", { class: "inline-form", "aria-label": "New extension" },
    field("Container", "container", container), field("Name", "name", name), button,
    h("datalist", { id: "wt-containers" }, containers.map((c) => h("option", { value: c }))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(button, "Creating…", form, async () => {
      const at = `${enc(container.value)}/${enc(name.value)}`;
      // A PUT replaces: never over an extension that exists.
      const exists = await get(`/api/webtask/${at}`).then(() => true, () => false);
      if (exists) throw new ApiError(409, "conflict", `${container.value} already has an extension named ${name.value}`, "name");
      await put(`/api/webtask/${at}`, { code: STARTER });
      location.hash = `#/extensions/${at}`;
    });
  });
  return form;
}

type Tab = "runner" | "secrets" | "meta" | "cron" | "logs";

export async function extensionPage(main: HTMLElement, session: Session, [container, name, initialTab]: string[]): Promise<() => void> {
  const canWrite = session.scopes.includes("webtasks:write");
  const at = path({ container, name });
  let webtask = await get<Webtask>(`/api/webtask/${at}`);
  let saved = webtask.code ?? "";

  const status = h("span", { class: "muted small", "data-testid": "extension-status" });
  const problems = h("div", { class: "problems", "aria-live": "polite", "data-testid": "problems" });
  const editorBox = h("div", { class: "editor" });
  const saveButton = h("button", { type: "button", class: "primary", title: "Save (Ctrl/Cmd+S)" }, "Save");
  const deleteButton = h("button", { type: "button", class: "ghost danger" }, "Delete");
  const renderStatus = () => clear(status, `saved ${time(webtask.updated_at)}`,
    editor && editor.code() !== saved ? h("span", { class: "dirty" }, " · unsaved") : null);
  const editor: Editor = createEditor(editorBox, saved, { save: () => void save(), run: () => void runNow() }, !canWrite, "webtask");
  editor.view.dom.addEventListener("keyup", () => renderStatus());
  const dirty = () => editor.code() !== saved;

  async function save(): Promise<boolean> {
    if (!canWrite) return true;
    const code = editor.code();
    try {
      webtask = await patch<Webtask>(`/api/webtask/${at}`, { code });
      saved = code;
      clear(problems);
      editor.showErrors([], "");
      renderStatus();
      toast("Saved: the next call runs this code");
      return true;
    } catch (error) {
      const message = error instanceof ApiError ? error.describe() : String(error);
      editor.showErrors([{ message }], "Not saved");
      clear(problems, h("div", { class: "problem-list" }, h("div", { class: "strong" }, "Not saved"), h("div", { class: "problem" }, message)));
      toast("The code was not saved", "error");
      return false;
    }
  }
  saveButton.addEventListener("click", () => void save());
  deleteButton.addEventListener("click", () => void busy(deleteButton, "Deleting…", problems, async () => {
    if (!confirm(`Delete ${name}, with its storage and cron schedule?`)) return;
    await del(`/api/webtask/${at}`);
    guard.unsaved = () => false;
    toast(`${name} deleted`);
    location.hash = "#/extensions";
  }));

  // Panels
  const panel = h("section", { class: "panel", role: "tabpanel" });
  const tabNames: [Tab, string][] = [["runner", "Runner"], ["secrets", "Secrets"], ["meta", "Meta"], ["cron", "Cron"], ["logs", "Logs"]];
  let tab: Tab = (tabNames.find(([t]) => t === initialTab)?.[0] ?? "runner") as Tab;
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
  let runNow: () => Promise<void> = async () => { await showTab("runner"); await runNow(); };
  const context = {
    at, name, canWrite,
    current: () => webtask,
    update: (next: Webtask) => { webtask = next; renderStatus(); },
  };

  async function showTab(next: Tab): Promise<void> {
    tab = next;
    closeStream?.();
    closeStream = null;
    history.replaceState(null, "", `#/extensions/${at}/${tab}`);
    tabButtons.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === tab)));
    clear(panel, h("div", { class: "muted" }, "Loading…"));
    try {
      if (tab === "runner") runNow = runnerPanel(panel, container, name, async () => !canWrite || !dirty() || save());
      if (tab === "secrets") secretsPanel(panel, context);
      if (tab === "meta") metaPanel(panel, context);
      if (tab === "cron") await cronPanel(panel, context);
      if (tab === "logs") closeStream = logsPanel(panel, container, name);
    } catch (error) {
      showError(panel, error);
    }
  }

  const url = h("input", { readonly: true, value: webtask.webtask_url, class: "mono url", "aria-label": "Extension URL", "data-testid": "webtask-url" });
  const copy = h("button", { type: "button", class: "ghost small" }, "Copy URL");
  copy.addEventListener("click", async () => {
    url.select();
    try {
      await navigator.clipboard.writeText(url.value);
      toast("URL copied");
    } catch {
      toast("Selected: copy it with Ctrl/Cmd+C");
    }
  });
  clear(main, h("div", { class: "editor-page extension-page" },
    h("div", { class: "editor-head" },
      h("div", { class: "grow" },
        h("a", { href: "#/extensions", class: "muted small" }, "← Extensions"),
        h("h1", { "data-testid": "extension-name" }, name),
        h("div", { class: "row small" }, h("span", { class: "chip mono" }, container), status),
        h("div", { class: "row url-row" }, url, copy)),
      canWrite ? h("div", { class: "actions-bar" }, deleteButton, saveButton) : null),
    h("div", { class: "editor-grid" },
      h("div", { class: "editor-col" }, editorBox, problems),
      h("div", { class: "side-col" }, tabList, panel))));
  renderStatus();
  await showTab(tab);
  const beforeUnload = (event: BeforeUnloadEvent) => {
    if (dirty()) event.preventDefault();
  };
  const saveKey = (event: KeyboardEvent) => {
    if (!event.defaultPrevented && (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      void save();
    }
  };
  window.addEventListener("beforeunload", beforeUnload);
  document.addEventListener("keydown", saveKey);
  guard.unsaved = () => canWrite && dirty();
  return () => {
    closeStream?.();
    window.removeEventListener("beforeunload", beforeUnload);
    document.removeEventListener("keydown", saveKey);
    editor.view.destroy();
  };
}
