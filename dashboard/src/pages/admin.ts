// Admin: tenants and their tokens. A new token's value is shown once, here, and never again.
import { h, clear, time, badge, toast } from "../dom";
import { get, post, patch, del, enc, ApiError, type Session } from "../api";
import { field, busy } from "../forms";

const SCOPES = [
  "actions:read", "actions:write", "bindings:read", "bindings:write", "dispatch", "executions:read",
  "logs:read", "logs:write", "log_streams:read", "log_streams:write", "integrations:submit", "marketplace:review",
  "webtasks:read", "webtasks:write",
];
const DASHBOARD = SCOPES.slice(0, 6);

export async function adminPage(main: HTMLElement, _session: Session, _p: string[], selected?: string): Promise<void> {
  const { tenants } = await get<{ tenants: any[] }>("/v1/tenants?per_page=100");
  const name = h("input", { placeholder: "acme", autocomplete: "off" });
  const create = h("button", { type: "submit", class: "primary" }, "Create tenant");
  const form = h("form", { class: "inline-form", "aria-label": "New tenant" }, field("Name", "name", name), create);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(create, "Creating…", form, async () => {
      const tenant = await post<any>("/v1/tenants", { name: name.value });
      toast(`Tenant ${tenant.name} created`);
      await adminPage(main, _session, _p, tenant.id);
    });
  });
  const detail = h("section", { class: "card", "data-testid": "tenant-detail" });
  const current = tenants.find((t) => t.id === selected) ?? tenants[0];
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Tenants"), h("p", { class: "muted" }, "Each tenant has its own actions, flows and secrets; its API tokens carry scopes.")), form),
    h("div", { class: "flow-grid" },
      h("section", { class: "card" }, h("table", { class: "table compact", "data-testid": "tenants" }, h("tbody", null,
        tenants.length ? tenants.map((t) => h("tr", { class: t.id === current?.id ? "selected" : "" },
          h("td", null, h("button", { type: "button", class: "link strong", onclick: () => void adminPage(main, _session, _p, t.id) }, t.name)),
          h("td", { class: "muted small" }, time(t.created_at)))) : h("tr", null, h("td", { class: "empty" }, "No tenant yet."))))),
      detail));
  if (current) await tenantDetail(detail, current);
}

async function tenantDetail(box: HTMLElement, tenant: any): Promise<void> {
  const tokens = await get<any[]>(`/v1/tenants/${enc(tenant.id)}/tokens`);
  const checks = SCOPES.map((s) => h("input", { type: "checkbox", value: s, checked: DASHBOARD.includes(s), id: `scope-${s}` }));
  const create = h("button", { type: "submit", class: "primary" }, "Create token");
  const shown = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "stack", "aria-label": "New token" },
    h("fieldset", { class: "scopes", "data-field": "scopes" }, h("legend", null, "Scopes"),
      checks.map((c) => h("label", { class: "check", for: c.id }, c, c.value))),
    h("div", { class: "field-error", "data-error-for": "scopes", role: "alert" }),
    h("div", { class: "row" }, create), shown);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(create, "Creating…", form, async () => {
      const scopes = checks.filter((c) => c.checked).map((c) => c.value);
      if (!scopes.length) throw new ApiError(400, "invalid_value", "choose at least one scope", "scopes");
      const made = await post<any>(`/v1/tenants/${enc(tenant.id)}/tokens`, { scopes });
      await tenantDetail(box, tenant);
      const value = h("input", { readonly: true, value: made.token, class: "mono", "aria-label": "New token", "data-testid": "new-token" });
      const copy = h("button", { type: "button" }, "Copy");
      copy.addEventListener("click", async () => {
        await navigator.clipboard?.writeText(made.token).catch(() => {});
        value.select();
        toast("Copied");
      });
      box.querySelector("[data-shown]")?.replaceWith(h("div", { class: "notice", "data-shown": true },
        h("div", { class: "strong" }, "Copy this token now: it is shown only this once."), h("div", { class: "row" }, value, copy)));
    });
  });
  const cpu = h("input", { type: "number", min: "1", placeholder: "server default", value: tenant.cpu_ms_max ?? "" });
  const saveCpu = h("button", { type: "submit" }, "Save");
  const limits = h("form", { class: "inline-form", "aria-label": "Limits" }, field("CPU ms per execution", "cpu_ms_max", cpu), saveCpu);
  limits.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(saveCpu, "Saving…", limits, async () => {
      await patch(`/v1/tenants/${enc(tenant.id)}`, { cpu_ms_max: cpu.value === "" ? null : Number(cpu.value) });
      toast("Limit saved");
    });
  });
  clear(box,
    h("h2", null, tenant.name), h("div", { class: "muted small mono" }, tenant.id),
    h("h3", null, "Tokens"),
    h("table", { class: "table compact", "data-testid": "tokens" }, h("tbody", null, tokens.length ? tokens.map((t) => {
      const revoke = h("button", { type: "button", class: "ghost small danger" }, "Revoke");
      revoke.addEventListener("click", () => void busy(revoke, "…", box, async () => {
        if (!confirm("Revoke this token? Its dashboard sessions end too.")) return;
        await del(`/v1/tenants/${enc(tenant.id)}/tokens/${enc(t.id)}`);
        await tenantDetail(box, tenant);
      }));
      return h("tr", null,
        h("td", null, h("div", { class: "mono small" }, t.id.slice(0, 13)), h("div", { class: "muted small" }, time(t.created_at))),
        h("td", null, t.scopes.map((s: string) => h("span", { class: "chip" }, s))),
        h("td", { class: "nowrap" }, t.revoked_at ? badge("revoked", "failed") : [badge("active", "ok"), " ", revoke]));
    }) : h("tr", null, h("td", { class: "empty" }, "No token.")))),
    h("div", { "data-shown": true }),
    h("h3", null, "New token"), form,
    h("h3", null, "Limits"), limits);
  void shown;
}
