// An extension's panels besides the runner: Secrets (write-only: names shown, values sent and
// never read back), Meta and Dependencies (PATCH, the rest kept), Cron (schedule, state, delete,
// history) and Logs (the container's live console, this extension's lines).
import { h, clear, time, badge, toast } from "../dom";
import { get, put, patch, del, enc, ApiError } from "../api";
import { field, busy, pairs, resetErrors } from "../forms";
import type { Webtask, Cron } from "./extensions";

export interface Context {
  /** `container/name`, encoded for a path. */
  at: string;
  name: string;
  canWrite: boolean;
  current(): Webtask;
  update(next: Webtask): void;
}

export function secretsPanel(panel: HTMLElement, ctx: Context): void {
  const name = h("input", { placeholder: "API_KEY", autocomplete: "off", spellcheck: "false" });
  const value = h("input", { type: "password", autocomplete: "new-password", placeholder: "value" });
  const save = h("button", { type: "submit" }, "Save secret");
  const form = h("form", { class: "stack", "aria-label": "Set a secret" },
    h("p", { class: "muted small" }, "Values are encrypted and write-only: the extension reads them in ctx.secrets, this page never sees them again."),
    field("Name", "secrets", name), field("Value", "value", value), h("div", { class: "row" }, save));
  const change = async (secrets: Record<string, string | null>) => {
    ctx.update(await patch<Webtask>(`/api/webtask/${ctx.at}`, { secrets }));
    secretsPanel(panel, ctx);
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(save, "Saving…", form, async () => {
      if (!name.value.trim()) throw new ApiError(400, "invalid_value", "give the secret a name", "secrets");
      const saved = name.value.trim();
      await change({ [saved]: value.value });
      value.value = "";
      toast(`Secret ${saved} saved`);
    });
  });
  const rows = ctx.current().secret_names.map((secret) => {
    const replace = h("button", { type: "button", class: "ghost small" }, "Replace");
    replace.addEventListener("click", () => {
      name.value = secret;
      value.focus();
    });
    const remove = h("button", { type: "button", class: "ghost small danger", "aria-label": `Delete ${secret}` }, "Delete");
    remove.addEventListener("click", () => void busy(remove, "…", panel, async () => {
      if (!confirm(`Delete the secret ${secret}?`)) return;
      await change({ [secret]: null });
      toast(`Secret ${secret} deleted`);
    }));
    return h("tr", null, h("td", { class: "mono strong" }, secret), h("td", { class: "muted" }, "••••••••"),
      h("td", null, ctx.canWrite ? [replace, remove] : null));
  });
  clear(panel, h("div", { class: "stack" },
    h("table", { class: "table compact", "data-testid": "secrets" },
      h("tbody", null, rows.length ? rows : h("tr", null, h("td", { colspan: "3", class: "empty" }, "No secret.")))),
    ctx.canWrite ? form : null));
  resetErrors(form);
}

export function metaPanel(panel: HTMLElement, ctx: Context): void {
  const w = ctx.current();
  const meta = pairs("Metadata", "meta", ["Key", "Value"], Object.entries(w.meta));
  const saveMeta = h("button", { type: "submit" }, "Save metadata");
  const metaForm = h("form", { class: "stack", "aria-label": "Metadata" },
    h("p", { class: "muted small" }, "String values the extension reads in ctx.meta, and platforms discover it by. ",
      h("code", null, "wt-compiler"), " and ", h("code", null, "wt-middleware"), " choose what runs around the code."),
    meta.el, ctx.canWrite ? h("div", { class: "row" }, saveMeta) : null);
  metaForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(saveMeta, "Saving…", metaForm, async () => {
      ctx.update(await patch<Webtask>(`/api/webtask/${ctx.at}`, { meta: Object.fromEntries(meta.values()) }));
      toast("Metadata saved");
      metaPanel(panel, ctx);
    });
  });
  const deps = pairs("Dependencies", "dependencies", ["Package", "Range"], Object.entries(w.dependencies));
  const saveDeps = h("button", { type: "submit" }, "Save dependencies");
  const depsForm = h("form", { class: "stack", "aria-label": "Dependencies" },
    h("p", { class: "muted small" }, "npm packages, resolved and locked when saved: a call resolves nothing."),
    deps.el, ctx.canWrite ? h("div", { class: "row" }, saveDeps) : null);
  depsForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(saveDeps, "Resolving…", depsForm, async () => {
      ctx.update(await patch<Webtask>(`/api/webtask/${ctx.at}`, { dependencies: Object.fromEntries(deps.values()) }));
      toast("Dependencies locked");
      metaPanel(panel, ctx);
    });
  });
  clear(panel, h("div", { class: "stack" }, metaForm, h("hr"), depsForm,
    h("p", { class: "muted small" }, `Created ${time(w.created_at)} · updated ${time(w.updated_at)}`)));
}

export async function cronPanel(panel: HTMLElement, ctx: Context): Promise<void> {
  const job = await get<Cron>(`/api/cron/${ctx.at}`).catch((error) => {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  });
  const schedule = h("input", { placeholder: "*/5 * * * *", autocomplete: "off", spellcheck: "false", class: "mono", value: job?.schedule ?? "" });
  const tz = h("input", { placeholder: "UTC", autocomplete: "off", spellcheck: "false", list: "time-zones", value: job?.tz ?? "" });
  const state = h("select", null, h("option", { value: "active" }, "active"), h("option", { value: "inactive" }, "inactive"));
  state.value = job?.state ?? "active";
  const zones = (Intl as any).supportedValuesOf?.("timeZone") as string[] | undefined;
  const saveButton = h("button", { type: "submit", class: "primary" }, job ? "Save schedule" : "Schedule");
  const form = h("form", { class: "stack", "aria-label": "Schedule" },
    h("div", { class: "inline-form" },
      field("Schedule", "schedule", schedule, "5 fields: minute hour day month weekday"),
      field("Time zone", "tz", tz, "IANA name; UTC when empty"),
      field("State", "state", state)),
    ctx.canWrite ? h("div", { class: "row" }, saveButton) : null,
    h("datalist", { id: "time-zones" }, (zones ?? []).map((z) => h("option", { value: z }))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(saveButton, "Saving…", form, async () => {
      const body: Record<string, string> = { schedule: schedule.value, state: state.value };
      if (tz.value.trim()) body.tz = tz.value.trim();
      await put(`/api/cron/${ctx.at}`, body);
      toast("Scheduled");
      await cronPanel(panel, ctx);
    });
  });
  const toggle = h("button", { type: "button" }, job?.state === "active" ? "Deactivate" : "Activate");
  toggle.addEventListener("click", () => void busy(toggle, "…", panel, async () => {
    await put(`/api/cron/${ctx.at}/state`, { state: job?.state === "active" ? "inactive" : "active" });
    await cronPanel(panel, ctx);
  }));
  const remove = h("button", { type: "button", class: "ghost danger" }, "Unschedule");
  remove.addEventListener("click", () => void busy(remove, "…", panel, async () => {
    if (!confirm(`Unschedule ${ctx.name}? Its history goes too.`)) return;
    await del(`/api/cron/${ctx.at}`);
    toast("Unscheduled");
    await cronPanel(panel, ctx);
  }));
  const history = h("div", { "data-testid": "cron-history" });
  const refresh = h("button", { type: "button", class: "ghost small" }, "Refresh");
  const loadHistory = async () => {
    const runs = await get<any[]>(`/api/cron/${ctx.at}/history?limit=20`);
    clear(history, runs.length ? h("table", { class: "table compact fixed" },
      h("thead", null, h("tr", null, ["Scheduled", "Outcome", "Answer"].map((c) => h("th", null, c)))),
      h("tbody", null, runs.map((r) => h("tr", null,
        h("td", { class: "small" }, time(r.scheduled_at), h("div", { class: "muted" }, r.started_at
          ? `ran ${r.completed_at ? `in ${Math.max(0, Date.parse(r.completed_at) - Date.parse(r.started_at))} ms` : "until now"}` : "did not run")),
        h("td", null, r.type ? badge(r.type, r.type === "success" ? "ok" : r.type === "error" ? "failed" : "pending") : badge("running", "running"),
          r.statusCode ? h("span", { class: "muted small" }, ` ${r.statusCode}`) : null),
        h("td", { class: "mono small clip", title: r.body ?? "" }, r.body ?? "")))))
      : h("p", { class: "muted small" }, "No run yet."));
  };
  refresh.addEventListener("click", () => void busy(refresh, "…", history, loadHistory));
  clear(panel, h("div", { class: "stack" },
    job ? h("div", { class: "stats", "data-testid": "cron-job" },
      stat("Schedule", `${job.schedule} (${job.tz})`), stat("State", job.state), stat("Next run", job.state === "active" ? time(job.next_scheduled_at) : "—")) : h("p", { class: "muted", "data-testid": "cron-job" }, "Not scheduled: it runs only when called."),
    job && ctx.canWrite ? h("div", { class: "row" }, toggle, remove) : null,
    ctx.canWrite || job ? form : null,
    job ? [h("div", { class: "row" }, h("h3", { class: "grow" }, "History"), refresh), history] : null));
  if (!ctx.canWrite) form.querySelectorAll("input, select").forEach((el) => el.setAttribute("disabled", ""));
  if (job) await loadHistory();
}

function stat(label: string, value: string): HTMLElement {
  return h("div", { class: "stat" }, h("div", { class: "muted small" }, label), h("div", { class: "strong" }, value));
}

/** The container's live console (server-sent events), this extension's lines unless asked for all. */
export function logsPanel(panel: HTMLElement, container: string, name: string): () => void {
  const list = h("ol", { class: "logs tail", "data-testid": "live-logs" });
  const state = h("div", { class: "muted small", "data-testid": "live-logs-state" }, "Connecting…");
  const filter = h("input", { type: "search", placeholder: "only lines containing…", autocomplete: "off", "aria-label": "Filter lines" });
  const everyone = h("input", { type: "checkbox", id: "wt-all" });
  let source: EventSource | null = null;
  const connect = () => {
    source?.close();
    const query = filter.value ? `?filter=${enc(filter.value)}` : "";
    source = new EventSource(`/api/logs/tenant/${enc(container)}${query}`);
    source.addEventListener("open", () => clear(state, "Following: the console lines of each call appear as it ends."));
    source.addEventListener("error", () => clear(state, source?.readyState === EventSource.CLOSED ? "Disconnected." : "Disconnected: retrying…"));
    source.addEventListener("log", (e) => {
      const line = JSON.parse((e as MessageEvent).data);
      if (!everyone.checked && line.name !== name) return;
      list.appendChild(h("li", { class: `log-${line.level}` },
        h("span", { class: "muted small" }, new Date(line.at).toLocaleTimeString(), everyone.checked ? ` ${line.name} ` : " "),
        h("span", { class: "level" }, line.level), h("span", { class: "message" }, line.message)));
      while (list.children.length > 500) list.firstChild?.remove();
      list.scrollTop = list.scrollHeight;
    });
    source.addEventListener("lagged", (e) => list.appendChild(h("li", { class: "muted" }, `${(e as MessageEvent).data} lines missed`)));
  };
  let timer: number | undefined;
  filter.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(connect, 300);
  });
  const clearButton = h("button", { type: "button", class: "ghost small" }, "Clear");
  clearButton.addEventListener("click", () => clear(list));
  clear(panel, h("div", { class: "stack" },
    h("div", { class: "row" }, filter, clearButton), h("label", { class: "check", for: "wt-all" }, everyone, `every extension of ${container}`), state, list));
  connect();
  return () => {
    window.clearTimeout(timer);
    source?.close();
  };
}
