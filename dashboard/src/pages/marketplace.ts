// Marketplace: the catalog, an integration with its install form (generated from the version's
// secrets and configuration), installed copies and their upgrades, the partner's submissions
// with their check reports, and the reviewer's queue with the diff and the decision.
import { h, clear, time, badge, toast } from "../dom";
import { get, post, patch, del, enc, ApiError, type Session } from "../api";
import { field, busy } from "../forms";
import { loadTriggers } from "../catalog";
import { renderDiff } from "./actions";

export async function catalogPage(main: HTMLElement): Promise<void> {
  const triggers = await loadTriggers();
  const q = h("input", { type: "search", placeholder: "Search integrations  ( / )", "data-search": true, "aria-label": "Search" });
  const trigger = h("select", { "aria-label": "Trigger" }, h("option", { value: "" }, "any trigger"), triggers.map((t) => h("option", { value: t.id }, t.id)));
  const grid = h("div", { class: "cards", "data-testid": "catalog" });
  const load = async () => {
    const params = new URLSearchParams();
    if (q.value) params.set("q", q.value);
    if (trigger.value) params.set("trigger", trigger.value);
    const { integrations } = await get<{ integrations: any[] }>(`/v1/marketplace/integrations?${params}`);
    clear(grid, integrations.length ? integrations.map((i) => h("a", { class: "card tile", href: `#/marketplace/${enc(i.slug)}` },
      h("div", { class: "row" }, h("span", { class: "strong" }, i.name), h("span", { class: "muted small" }, `v${i.version}`)),
      h("div", { class: "muted small" }, `by ${i.publisher}`),
      h("p", null, i.short_description),
      h("div", null, i.supported_triggers.map((t: string) => h("span", { class: "chip" }, t))))) : h("p", { class: "muted" }, "No integration matches."));
  };
  let timer: number | undefined;
  q.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(() => void load(), 200); });
  trigger.addEventListener("change", () => void load());
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Marketplace"), h("p", { class: "muted" }, "Integrations reviewed by Actionflow, ready to install."))),
    h("div", { class: "toolbar" }, q, trigger), grid);
  await load();
}

function input(spec: any, secret: boolean): HTMLInputElement | HTMLSelectElement {
  if (secret) return h("input", { type: "password", autocomplete: "new-password", required: spec.required });
  if (spec.type === "enum") {
    const select = h("select", null, (spec.options ?? []).map((o: any) => h("option", { value: o.value }, o.label)));
    if (spec.default_value) select.value = spec.default_value;
    return select;
  }
  if (spec.type === "boolean") {
    const select = h("select", null, h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"));
    select.value = spec.default_value ?? "false";
    return select;
  }
  return h("input", {
    type: spec.type === "number" ? "number" : spec.type === "url" ? "url" : "text",
    placeholder: spec.placeholder, value: spec.default_value, required: spec.required, autocomplete: "off",
  });
}

/**
 * The inputs for a version's values, each named like the API names its field. For an installed
 * copy, `current` holds its configuration: the inputs start from it, and only what changed is sent
 * (a default or an untouched choice never overwrites a value the tenant set).
 */
function valueFields(secrets: any[], configuration: any[], current?: Record<string, string>) {
  const inputs: { kind: "secrets" | "configuration"; name: string; el: HTMLInputElement | HTMLSelectElement }[] = [];
  const make = (kind: "secrets" | "configuration", spec: any) => {
    const el = input(spec, kind === "secrets");
    if (current && kind === "secrets") el.removeAttribute("required");
    if (current && kind === "configuration" && spec.name in current) el.value = String(current[spec.name]);
    inputs.push({ kind, name: spec.name, el });
    return field(`${spec.label}${spec.required ? "" : " (optional)"}`, `${kind}.${spec.name}`, el, spec.description);
  };
  const nodes = [
    secrets.length ? h("h3", null, "Secrets") : null, secrets.map((s) => make("secrets", s)),
    configuration.length ? h("h3", null, "Configuration") : null, configuration.map((c) => make("configuration", c)),
  ];
  const values = () => {
    const out = { secrets: {} as Record<string, string>, configuration: {} as Record<string, string> };
    for (const { kind, name, el } of inputs) {
      const unchanged = kind === "configuration" && current && name in current && String(current[name]) === el.value;
      if (el.value !== "" && !unchanged) out[kind][name] = el.value;
    }
    return out;
  };
  return { nodes, values };
}

export async function integrationPage(main: HTMLElement, session: Session, [slug]: string[]): Promise<void> {
  const i = await get<any>(`/v1/marketplace/integrations/${enc(slug)}`);
  const installable = i.versions.filter((v: any) => !v.deprecated && !v.yanked);
  const version = h("select", null, installable.map((v: any) => h("option", { value: v.version }, v.version)));
  const name = h("input", { placeholder: i.slug, autocomplete: "off" });
  const bind = h("select", null, h("option", { value: "" }, "do not bind"), i.supported_triggers.map((t: string) => h("option", { value: t }, `bind to ${t}`)));
  const { nodes, values } = valueFields(i.secrets ?? [], i.configuration ?? []);
  const install = h("button", { type: "submit", class: "primary" }, "Install");
  // The API checks the values and names the field at fault: no browser-side validation first.
  const form = h("form", { class: "stack", "aria-label": "Install", novalidate: true },
    field("Version", "version", version), field("Action name", "name", name, "Defaults to the integration's slug."),
    nodes, field("Flow", "bind", bind), install);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(install, "Installing, building and deploying…", form, async () => {
      const body: any = { integration: i.slug, version: version.value, ...values() };
      if (name.value) body.name = name.value;
      if (bind.value) body.bind = { trigger: bind.value };
      await post("/v1/integrations/installed", body);
      toast(`${i.name} installed`);
      location.hash = "#/marketplace/installed";
    });
  });
  const canInstall = session.scopes.includes("actions:write");
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("a", { href: "#/marketplace", class: "muted small" }, "← Marketplace"),
      h("h1", null, i.name), h("div", { class: "muted" }, `by ${i.publisher} · v${i.version}`),
      h("div", null, i.supported_triggers.map((t: string) => h("span", { class: "chip" }, t)), (i.categories ?? []).map((c: string) => h("span", { class: "chip muted" }, c))))),
    h("div", { class: "flow-grid" },
      h("section", { class: "card" }, h("p", null, i.description),
        i.network_hosts?.length ? h("p", { class: "small" }, h("span", { class: "strong" }, "Reaches: "), i.network_hosts.join(", ")) : null,
        h("h3", null, "Installation guide"), h("pre", { class: "guide" }, i.installation_guide),
        h("h3", null, "Versions"), h("ul", null, i.versions.map((v: any) => h("li", null, `v${v.version} `, h("span", { class: "muted small" }, time(v.published_at)),
          v.deprecated ? badge("deprecated", "failed") : null, v.yanked ? badge("yanked", "failed") : null)))),
      h("section", { class: "card" }, h("h2", null, "Install"), canInstall ? form : h("p", { class: "muted" }, "Installing needs the actions:write scope."))));
}

export async function installedPage(main: HTMLElement): Promise<void> {
  const { installed } = await get<{ installed: any[] }>("/v1/integrations/installed");
  const rows = await Promise.all(installed.map(async (copy) => {
    const listing = await get<any>(`/v1/marketplace/integrations/${enc(copy.integration)}`).catch(() => null);
    const newer = listing?.versions.filter((v: any) => !v.deprecated && !v.yanked && v.version !== copy.version) ?? [];
    const box = h("div");
    const upgrade = h("button", { type: "button" }, newer.length ? `Upgrade / configure` : "Configure");
    upgrade.addEventListener("click", () => {
      const version = h("select", null, [copy.version, ...newer.map((v: any) => v.version)].map((v: string) => h("option", { value: v }, v)));
      const { nodes, values } = valueFields(listing?.secrets ?? [], listing?.configuration ?? [], copy.configuration ?? {});
      const apply = h("button", { type: "submit", class: "primary" }, "Apply");
      const form = h("form", { class: "stack", novalidate: true }, field("Version", "version", version),
        h("p", { class: "muted small" }, "The configuration shows its current values; secrets left empty keep theirs, which are never shown."), nodes, apply);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        void busy(apply, "Deploying…", form, async () => {
          await patch(`/v1/integrations/installed/${enc(copy.id)}`, { version: version.value, ...values() });
          toast("A new version of the action is deployed");
          await installedPage(main);
        });
      });
      clear(box, form);
    });
    const remove = h("button", { type: "button", class: "ghost danger" }, "Uninstall");
    remove.addEventListener("click", () => void busy(remove, "…", box, async () => {
      if (!confirm(`Uninstall ${copy.integration}? It is unbound from every flow and deleted.`)) return;
      await del(`/v1/integrations/installed/${enc(copy.id)}`);
      await installedPage(main);
    }));
    return h("section", { class: "card" },
      h("div", { class: "row" }, h("span", { class: "strong" }, copy.integration), h("span", { class: "muted" }, `v${copy.version}`),
        copy.running_version && copy.running_version !== copy.version ? h("span", { class: "muted small" }, `running ${copy.running_version}`) : null,
        copy.deprecated ? badge("deprecated", "failed") : null, copy.yanked ? badge("yanked", "failed") : null,
        newer.length ? badge(`${newer.length} other version${newer.length > 1 ? "s" : ""}`, "pending") : null,
        h("span", { class: "grow" }), h("a", { href: `#/actions/${enc(copy.action_id)}` }, "Open action"), upgrade, remove),
      h("div", { class: "small muted" }, "Secrets: ", copy.secret_names.join(", ") || "none", " · Configuration: ",
        Object.entries(copy.configuration ?? {}).map(([k, v]) => `${k}=${v}`).join(", ") || "none"),
      box);
  }));
  clear(main, h("header", { class: "page-head" }, h("div", null, h("h1", null, "Installed integrations"), h("p", { class: "muted" }, "Copies never move by themselves: upgrade when you choose."))),
    h("div", { class: "stack", "data-testid": "installed" }, rows.length ? rows : h("p", { class: "muted" }, "Nothing installed yet.")));
}

export async function submissionsPage(main: HTMLElement, session: Session): Promise<void> {
  const reviewer = session.scopes.includes("marketplace:review");
  const partner = session.scopes.includes("integrations:submit");
  if (!reviewer && !partner) {
    clear(main, h("h1", null, "Submissions"), h("p", { class: "muted" }, "Submitting needs the integrations:submit scope; reviewing, marketplace:review."));
    return;
  }
  const state = h("select", { "aria-label": "State" }, ["", "in_review", "checks_failed", "changes_requested", "approved", "published", "rejected", "withdrawn"]
    .map((s) => h("option", { value: s }, s || "any state")));
  if (reviewer) state.value = "in_review";
  const list = h("tbody");
  const load = async () => {
    const { submissions } = await get<{ submissions: any[] }>(`/v1/marketplace/submissions${state.value ? `?state=${enc(state.value)}` : ""}`);
    clear(list, submissions.length ? submissions.map((s) => h("tr", null,
      h("td", null, h("a", { class: "strong", href: `#/marketplace/submissions/${enc(s.id)}` }, `${s.slug}@${s.version}`)),
      h("td", { class: "muted" }, s.publisher), h("td", null, badge(s.state)),
      h("td", { class: "small" }, `${s.report.filter((f: any) => f.severity === "error").length} errors, ${s.report.filter((f: any) => f.severity === "warning").length} warnings`),
      h("td", { class: "muted small" }, time(s.updated_at)))) : h("tr", null, h("td", { colspan: "5", class: "empty" }, "No submission.")));
  };
  state.addEventListener("change", () => void load());
  const file = h("input", { type: "file", accept: ".tgz,application/gzip" });
  const submit = h("button", { type: "submit", class: "primary" }, "Submit package");
  const form = h("form", { class: "inline-form", "aria-label": "Submit a package" }, field("Package (.tgz from actionflow integration pack)", "package", file), submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, "Submitting…", form, async () => {
      const chosen = file.files?.[0];
      if (!chosen) throw new ApiError(400, "invalid_value", "choose a .tgz package", "package");
      const bytes = new Uint8Array(await chosen.arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      const made = await post<any>("/v1/marketplace/submissions", { package: btoa(binary) });
      location.hash = `#/marketplace/submissions/${enc(made.id)}`;
    });
  });
  clear(main, h("header", { class: "page-head" }, h("div", null, h("h1", null, reviewer ? "Review queue" : "Your submissions"),
    h("p", { class: "muted" }, "Every package is checked by the server once stored; a reviewer then reads the code and decides.")), partner ? form : null),
    h("div", { class: "toolbar" }, state),
    h("table", { class: "table" }, h("thead", null, h("tr", null, ["Package", "Publisher", "State", "Checks", "Updated"].map((c) => h("th", null, c)))), list));
  await load();
}

export async function submissionPage(main: HTMLElement, session: Session, [id]: string[]): Promise<void> {
  const s = await get<any>(`/v1/marketplace/submissions/${enc(id)}`);
  const reviewer = session.scopes.includes("marketplace:review");
  const review = reviewer && s.state === "in_review" ? await get<any>(`/v1/marketplace/submissions/${enc(id)}/review`).catch(() => null) : null;
  const decisionBox = h("section", { class: "card" });
  if (review) {
    const decision = h("select", null, h("option", { value: "approve" }, "Approve and publish"), h("option", { value: "request_changes" }, "Request changes"), h("option", { value: "reject" }, "Reject"));
    const comment = h("textarea", { rows: "3" });
    const ack = h("input", { type: "checkbox", id: "ack" });
    const send = h("button", { type: "submit", class: "primary" }, "Send decision");
    const form = h("form", { class: "stack", "aria-label": "Decision" }, field("Decision", "decision", decision), field("Comment", "comment", comment, "Required unless approving."),
      h("label", { class: "check", for: "ack" }, ack, "I have read the warnings"), h("div", { class: "field-error", "data-error-for": "acknowledge_warnings" }), send);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(send, "Sending…", form, async () => {
        await post(`/v1/marketplace/submissions/${enc(id)}/review`, { decision: decision.value, comment: comment.value || null, acknowledge_warnings: ack.checked });
        toast("Decision recorded");
        await submissionPage(main, session, [id]);
      });
    });
    const diffBox = h("div");
    if (review.code_diff) renderDiff(diffBox, { from: review.previous_version ?? "previous", to: s.version, code: review.code_diff });
    clear(decisionBox, h("h2", null, "Review"),
      review.breaking_changes.length ? h("div", { class: "error-box" }, h("div", { class: "strong" }, "Breaking changes"), h("ul", null, review.breaking_changes.map((b: string) => h("li", null, b)))) : null,
      review.code_diff ? [h("h3", null, `Changes since ${review.previous_version}`), diffBox] : [h("h3", null, "Code"), h("pre", { class: "mono code-block" }, review.code)],
      form);
  }
  const withdraw = h("button", { type: "button", class: "ghost danger" }, "Withdraw");
  withdraw.addEventListener("click", () => void busy(withdraw, "…", main, async () => {
    await post(`/v1/marketplace/submissions/${enc(id)}/withdraw`, {});
    await submissionPage(main, session, [id]);
  }));
  const canWithdraw = session.scopes.includes("integrations:submit") && !["published", "rejected", "withdrawn"].includes(s.state);
  // The server checks a submission in the background: read it again until the checks end, while
  // this page is still the one shown.
  const checking = s.state === "submitted" || s.state === "checking";
  if (checking) {
    const shown = location.hash;
    setTimeout(() => { if (location.hash === shown) void submissionPage(main, session, [id]); }, 1000);
  }
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("a", { href: "#/marketplace/submissions", class: "muted small" }, "← Submissions"),
      h("h1", null, `${s.slug}@${s.version}`), h("div", { class: "row" }, badge(s.state), h("span", { class: "muted" }, `by ${s.publisher}`))), canWithdraw ? withdraw : null),
    h("section", { class: "card" }, h("h2", null, "Check report"),
      checking ? h("p", { class: "muted" }, "The checks are running; this page follows them.") : s.report.length ? h("table", { class: "table compact", "data-testid": "report" }, h("tbody", null, s.report.map((f: any) => h("tr", null,
        h("td", null, badge(f.severity, f.severity === "error" ? "failed" : "pending")), h("td", { class: "mono small" }, f.code),
        h("td", { class: "mono small" }, f.file ? `${f.file}${f.line ? `:${f.line}` : ""}` : ""), h("td", null, f.message))))) : h("p", { class: "muted" }, "Every check passed.")),
    review ? decisionBox : null,
    h("section", { class: "card" }, h("h2", null, "History"), h("ol", { class: "history" }, s.transitions.map((t: any) =>
      h("li", null, h("span", { class: "strong" }, `${t.from ?? "—"} → ${t.to}`), " ", h("span", { class: "muted small" }, `${t.actor} · ${time(t.at)}`), t.reason ? h("div", { class: "small" }, t.reason) : null)))));
}
