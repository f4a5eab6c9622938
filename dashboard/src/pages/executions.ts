// Executions: the list with filters, one execution with each action's result and logs, and retry
// of a dead one.
import { h, clear, time, badge, toast } from "../dom";
import { get, post, enc, type Session } from "../api";
import { field, busy } from "../forms";
import { loadTriggers } from "../catalog";
import { apiCallList, logLines } from "./actions";

const STATUSES = ["pending", "running", "final", "partial", "failed", "dead"];

export async function executionsPage(main: HTMLElement, _session: Session): Promise<void> {
  const triggers = await loadTriggers();
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const trigger = h("select", null, h("option", { value: "" }, "all triggers"), triggers.map((t) => h("option", { value: t.id }, t.id)));
  const status = h("select", null, h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s }, s)));
  trigger.value = params.get("trigger") ?? "";
  status.value = params.get("status") ?? "";
  const body = h("tbody");
  const refresh = h("button", { type: "submit" }, "Refresh");
  const form = h("form", { class: "inline-form", "aria-label": "Filter executions" },
    field("Trigger", "trigger", trigger), field("Status", "status", status), refresh);
  const load = async () => {
    const q = new URLSearchParams({ per_page: "50" });
    if (trigger.value) q.set("trigger", trigger.value);
    if (status.value) q.set("status", status.value);
    const { executions, total } = await get<{ executions: any[]; total: number }>(`/v1/executions?${q}`);
    clear(body, executions.length ? executions.map((e) => h("tr", null,
      h("td", null, h("a", { href: `#/executions/${enc(e.id)}`, class: "mono" }, e.id.slice(0, 13))),
      h("td", null, h("span", { class: "chip" }, e.trigger_id), " ", h("span", { class: "muted small" }, e.delivery)),
      h("td", null, badge(e.status)),
      h("td", null, (e.results ?? []).map((r: any) => h("span", { class: "chip" }, `${r.display_name ?? r.action_id?.slice(0, 8)} ${r.status}`))),
      h("td", { class: "muted small" }, `${e.attempts}/${e.max_attempts}`),
      h("td", { class: "muted small" }, time(e.created_at)),
    )) : h("tr", null, h("td", { colspan: "6", class: "empty" }, "No execution matches.")));
    body.parentElement?.setAttribute("data-total", String(total));
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (trigger.value) q.set("trigger", trigger.value);
    if (status.value) q.set("status", status.value);
    history.replaceState(null, "", `#/executions${q.size ? `?${q}` : ""}`);
    void busy(refresh, "Loading…", form, load);
  });
  [trigger, status].forEach((s) => s.addEventListener("change", () => form.requestSubmit()));
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Executions"), h("p", { class: "muted" }, "Every dispatch: sync ones as they ran, async ones with their attempts."))),
    form,
    h("table", { class: "table", "data-testid": "executions" },
      h("thead", null, h("tr", null, ["Execution", "Trigger", "Status", "Actions", "Attempts", "Created"].map((c) => h("th", null, c)))), body));
  await load();
}

export async function executionPage(main: HTMLElement, session: Session, [id]: string[]): Promise<void> {
  const e = await get<any>(`/v1/executions/${enc(id.split("?")[0])}`);
  const retry = h("button", { type: "button", class: "primary" }, "Retry");
  retry.addEventListener("click", () => void busy(retry, "Retrying…", main, async () => {
    await post(`/v1/executions/${enc(e.id)}/retry`);
    toast("Queued again with a fresh budget of attempts");
    await executionPage(main, session, [id]);
  }));
  clear(main,
    h("header", { class: "page-head" }, h("div", null,
      h("a", { href: "#/executions", class: "muted small" }, "← Executions"),
      h("h1", { class: "mono" }, e.id),
      h("div", { class: "row" }, h("span", { class: "chip" }, e.trigger_id), badge(e.status), h("span", { class: "muted small" },
        `${e.delivery} · attempt ${e.attempts} of ${e.max_attempts} · ${time(e.created_at)}`))),
      e.status === "dead" && session.scopes.includes("dispatch") ? retry : null),
    e.last_error ? h("div", { class: "error-box" }, e.last_error) : null,
    h("h2", null, "Actions"),
    h("div", { class: "stack", "data-testid": "execution-results" }, (e.results ?? []).length ? e.results.map((r: any) => h("section", { class: "card" },
      h("div", { class: "row" }, h("a", { class: "strong", href: `#/actions/${enc(r.action_id)}` }, r.display_name ?? r.action_id),
        r.version ? h("span", { class: "muted small" }, `v${r.version}`) : null, badge(r.status),
        r.duration_ms !== undefined ? h("span", { class: "muted small" }, `${Number(r.duration_ms).toFixed(1)} ms`) : null),
      r.error ? h("div", { class: "error-box" }, typeof r.error === "string" ? r.error : `${r.error.name ?? "Error"}: ${r.error.message ?? JSON.stringify(r.error)}`) : null,
      (r.api_calls ?? []).length ? apiCallList(r.api_calls) : null,
      logLines(r.logs ?? []),
    )) : h("p", { class: "muted" }, "No action ran.")),
    h("details", null, h("summary", null, "Event"), h("pre", { class: "mono code-block" }, JSON.stringify(e.event, null, 2))));
}
