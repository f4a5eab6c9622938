// The tenant log: search (GET /v1/logs?q=&page=&per_page=, newest first) with filters by type,
// user, IP, connection and client written into the query the API reads, and one event's detail
// (GET /v1/logs/{id}). The filters live in the hash, so a search can be linked and reloaded.
import { h, clear, time, badge } from "../dom";
import { get, enc, type Session } from "../api";
import { field, busy, showError } from "../forms";
import codes from "../generated/log-codes.json";

interface LogCode { code: string; level: number; description: string }
const KNOWN = new Map((codes as LogCode[]).map((c) => [c.code, c]));
const LEVELS = ["debug", "info", "warning", "error", "critical"];
const PER_PAGE = 50;

/** Quick filters: a label and the types it stands for. */
const PRESETS: [string, string][] = [
  ["Failed logins", "f fp fu"],
  ["Successful logins", "s"],
  ["Signups", "ss fs"],
  ["Management API", "sapi fapi"],
  ["Actionflow", "af_deploy af_deploy_failed af_dispatch af_dispatch_failed"],
];

/** The fields a term may name besides `type`, each with its input's label. */
const TERMS: [string, string][] = [["user_id", "User id"], ["ip", "IP address"], ["connection", "Connection"], ["client_id", "Client id"]];

/** `field:value`, the value quoted (the query's words split at spaces, and quotes are removed). */
function term(name: string, value: string): string {
  return `${name}:"${value.replace(/"/g, "")}"`;
}

/** The query for these filters: each type OR-ed, every other filter AND-ed into each group. */
export function queryOf(types: string[], others: [string, string][]): string {
  const rest = others.filter(([, v]) => v.trim()).map(([k, v]) => term(k, v.trim()));
  const groups = types.length ? types.map((t) => [`type:${t}`, ...rest]) : rest.length ? [rest] : [];
  return groups.map((g) => g.join(" ")).join(" OR ");
}

function levelBadge(level: number): HTMLElement {
  const name = LEVELS[level] ?? String(level);
  return badge(name, level >= 3 ? "failed" : level === 2 ? "pending" : "info");
}

function typeChip(code: string): HTMLElement {
  const known = KNOWN.get(code);
  return h("span", { class: "row-inline" }, h("span", { class: "chip mono" }, code),
    h("span", { class: "muted small" }, known?.description ?? (code.startsWith("x_") ? "custom" : "")));
}

export async function logsPage(main: HTMLElement, _session: Session, [selected]: string[]): Promise<void> {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const types = h("input", { placeholder: "f fp", autocomplete: "off", spellcheck: "false", list: "log-codes", class: "mono" });
  const others = TERMS.map(([name]) => [name, h("input", { autocomplete: "off", spellcheck: "false" })] as const);
  const q = h("input", { type: "search", class: "mono wide-input", autocomplete: "off", spellcheck: "false",
    placeholder: 'type:f OR type:fp user_id:"auth0|42"', "data-search": true, "aria-label": "Query" });
  q.value = params.get("q") ?? "";
  let page = Math.max(0, Number(params.get("page") ?? 0) || 0);
  const rewrite = () => {
    const list = types.value.split(/[\s,]+/).filter(Boolean);
    q.value = queryOf(list, others.map(([name, input]) => [name, input.value]));
  };
  [types, ...others.map(([, input]) => input)].forEach((input) => input.addEventListener("input", rewrite));
  const search = h("button", { type: "submit", class: "primary" }, "Search");
  const form = h("form", { class: "stack", "aria-label": "Search the log" },
    h("div", { class: "inline-form" },
      field("Types", "type", types, "Codes, separated by spaces"),
      others.map(([name, input], i) => field(TERMS[i][1], name, input))),
    h("div", { class: "inline-form" }, field("Query", "q", q, "What the API searches: terms AND-ed, groups OR-ed. The filters above write it."), search),
    h("div", { class: "row" }, h("span", { class: "muted small" }, "Quick filters:"), PRESETS.map(([label, list]) => {
      const chip = h("button", { type: "button", class: "ghost small" }, label);
      chip.addEventListener("click", () => {
        types.value = list;
        rewrite();
        page = 0;
        form.requestSubmit();
      });
      return chip;
    })),
    h("datalist", { id: "log-codes" }, (codes as LogCode[]).map((c) => h("option", { value: c.code }, `${c.code} — ${c.description}`))));

  const body = h("tbody");
  const summary = h("span", { class: "muted small", "data-testid": "log-total" });
  const prev = h("button", { type: "button", class: "ghost small" }, "← Newer");
  const next = h("button", { type: "button", class: "ghost small" }, "Older →");
  const detail = h("section", { class: "card sticky", "data-testid": "log-detail", "aria-live": "polite" });
  let current = selected ?? params.get("id") ?? "";

  const hash = () => {
    const p = new URLSearchParams();
    if (q.value.trim()) p.set("q", q.value.trim());
    if (page) p.set("page", String(page));
    return `#/logs${current ? `/${enc(current)}` : ""}${p.size ? `?${p}` : ""}`;
  };
  const showDetail = async (id: string) => {
    current = id;
    history.replaceState(null, "", hash());
    body.querySelectorAll("tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.logId === id));
    clear(detail, h("div", { class: "muted" }, "Loading…"));
    try {
      renderDetail(detail, await get<any>(`/v1/logs/${enc(id)}`));
    } catch (error) {
      clear(detail);
      showError(detail, error);
    }
  };
  const load = async () => {
    const query = new URLSearchParams({ q: q.value.trim(), page: String(page), per_page: String(PER_PAGE) });
    const found = await get<{ logs: any[]; total: number }>(`/v1/logs?${query}`);
    const reachable = Math.min(found.total, 1000);
    const first = page * PER_PAGE;
    clear(summary, found.total ? `${first + 1}–${first + found.logs.length} of ${found.total} event${found.total === 1 ? "" : "s"}, newest first` : "");
    prev.disabled = page === 0;
    next.disabled = first + found.logs.length >= reachable;
    clear(body, found.logs.length ? found.logs.map((e) => {
      const open = h("a", { href: `#/logs/${enc(e.log_id)}` }, time(e.date));
      open.addEventListener("click", (event) => {
        event.preventDefault();
        void showDetail(e.log_id);
      });
      return h("tr", { "data-log-id": e.log_id, class: e.log_id === current ? "selected" : "" },
        h("td", null, open),
        h("td", null, typeChip(e.type)),
        h("td", null, levelBadge(e.level)),
        h("td", null, e.user_name ?? e.user_id ?? h("span", { class: "muted" }, "—"),
          e.user_name && e.user_id ? h("div", { class: "muted small mono" }, e.user_id) : null),
        h("td", { class: "mono small" }, e.ip ?? ""));
    }) : h("tr", null, h("td", { colspan: "5", class: "empty" }, q.value.trim() ? "No event matches." : "No event in the log yet.")));
    history.replaceState(null, "", hash());
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter === search) page = 0;
    void busy(search, "Searching…", form, load);
  });
  prev.addEventListener("click", () => { page -= 1; void busy(search, "Searching…", form, load); });
  next.addEventListener("click", () => { page += 1; void busy(search, "Searching…", form, load); });

  clear(detail, h("p", { class: "muted" }, "Choose an event to see everything it holds."));
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Logs"),
      h("p", { class: "muted" }, "What happened in your tenant: logins, signups, management calls, deploys and dispatches."))),
    form,
    h("div", { class: "logs-grid" },
      h("div", { class: "stack" },
        h("div", { class: "table-wrap" }, h("table", { class: "table", "data-testid": "logs-table" },
          h("thead", null, h("tr", null, ["Date", "Type", "Level", "User", "IP"].map((c) => h("th", null, c)))), body)),
        h("div", { class: "row" }, prev, next, summary)),
      detail));
  await busy(search, "Searching…", form, load);
  if (current) await showDetail(current);
}

/** One event: every field as text, its details as JSON. */
function renderDetail(box: HTMLElement, e: any): void {
  const known = KNOWN.get(e.type);
  const fields = Object.entries<any>(e).filter(([k]) => !["details", "log_id", "date", "type", "level"].includes(k));
  clear(box,
    h("div", { class: "row" }, h("span", { class: "chip mono" }, e.type), levelBadge(e.level), h("span", { class: "muted small grow" }, `log ${e.log_id}`)),
    h("h2", null, known?.description ?? e.description ?? e.type),
    h("table", { class: "table compact" }, h("tbody", null,
      h("tr", null, h("th", null, "Date"), h("td", null, time(e.date), h("div", { class: "muted small mono" }, e.date))),
      fields.map(([k, v]) => h("tr", null, h("th", { class: "mono" }, k), h("td", { class: "mono small" }, String(v)))))),
    e.details ? [h("h3", null, "Details"), h("pre", { class: "mono code-block", "data-testid": "log-details" }, JSON.stringify(e.details, null, 2))] : null);
}
