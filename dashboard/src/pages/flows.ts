// Flows: per trigger, the bound actions in order. Reorder by drag and drop (or Alt+Up/Down), add
// from the library, choose on_error per binding; Apply writes the whole list as a new revision.
// Revision history with restore.
import { h, clear, time, badge, toast } from "../dom";
import { get, patch, post, enc, type Session } from "../api";
import { field, busy, showError } from "../forms";
import { loadTriggers } from "../catalog";

interface Binding { action_id: string; display_name: string; on_error: "fail" | "continue" }
interface Flow { trigger_id: string; revision: number; bindings: Binding[] }

export async function flowsPage(main: HTMLElement, session: Session, [triggerParam]: string[]): Promise<void> {
  const triggers = await loadTriggers();
  const trigger = triggers.find((t) => t.id === triggerParam) ?? triggers[0];
  const canWrite = session.scopes.includes("bindings:write");
  const [flow, library] = await Promise.all([
    get<Flow>(`/v1/triggers/${enc(trigger.id)}/bindings`),
    get<{ actions: any[] }>(`/v1/actions?per_page=100`).catch(() => ({ actions: [] })),
  ]);
  const names = new Map(library.actions.map((a) => [a.id, a]));
  let items: Binding[] = flow.bindings.map((b) => ({ ...b }));
  let changed = false;

  const list = h("ol", { class: "flow", "data-testid": "flow", "aria-label": `${trigger.id} flow` });
  const applyButton = h("button", { type: "button", class: "primary" }, "Apply");
  const discard = h("button", { type: "button", class: "ghost" }, "Discard changes");
  const state = h("span", { class: "muted small", "data-testid": "flow-state" });
  const box = h("div", { class: "stack" });
  let dragged = -1;

  const move = (from: number, to: number) => {
    if (to < 0 || to >= items.length || from === to) return;
    const [item] = items.splice(from, 1);
    items.splice(to, 0, item);
    changed = true;
    render();
    list.querySelectorAll<HTMLElement>(".flow-item")[to]?.focus();
  };

  const render = () => {
    clear(state, changed ? "Unapplied changes" : `Revision ${flow.revision}`);
    applyButton.disabled = !changed;
    discard.hidden = !changed;
    clear(list,
      h("li", { class: "flow-end" }, badge(trigger.delivery), ` ${trigger.id} starts`),
      items.map((b, i) => {
        const action = names.get(b.action_id);
        const onError = h("select", { "aria-label": `On error for ${b.display_name}`, disabled: !canWrite },
          h("option", { value: "fail" }, "fail the flow"), h("option", { value: "continue" }, "continue"));
        onError.value = b.on_error;
        onError.addEventListener("change", () => { b.on_error = onError.value as Binding["on_error"]; changed = true; render(); });
        const remove = h("button", { type: "button", class: "ghost small danger", "aria-label": `Remove ${b.display_name}` }, "Remove");
        remove.addEventListener("click", () => { items.splice(i, 1); changed = true; render(); });
        const up = h("button", { type: "button", class: "ghost small", "aria-label": `Move ${b.display_name} up`, disabled: i === 0 }, "↑");
        up.addEventListener("click", () => move(i, i - 1));
        const down = h("button", { type: "button", class: "ghost small", "aria-label": `Move ${b.display_name} down`, disabled: i === items.length - 1 }, "↓");
        down.addEventListener("click", () => move(i, i + 1));
        const li = h("li", { class: "flow-item", draggable: canWrite ? "true" : undefined, tabindex: "0", "data-action-id": b.action_id },
          h("span", { class: "grip", "aria-hidden": "true" }, "⋮⋮"),
          h("span", { class: "pos" }, String(i + 1)),
          h("div", { class: "grow" },
            h("a", { class: "strong", href: `#/actions/${enc(b.action_id)}` }, b.display_name),
            h("div", { class: "muted small" }, action ? (action.deployed_version ? `v${action.deployed_version} deployed` : "not deployed") : "")),
          h("label", { class: "small" }, "On error ", onError),
          canWrite ? [up, down, remove] : null);
        li.addEventListener("dragstart", (e) => { dragged = i; li.classList.add("dragging"); e.dataTransfer?.setData("text/plain", String(i)); });
        li.addEventListener("dragend", () => li.classList.remove("dragging"));
        li.addEventListener("dragover", (e) => { e.preventDefault(); li.classList.add("drop"); });
        li.addEventListener("dragleave", () => li.classList.remove("drop"));
        li.addEventListener("drop", (e) => { e.preventDefault(); move(dragged, i); });
        li.addEventListener("keydown", (e) => {
          if (!canWrite || !e.altKey) return;
          if (e.key === "ArrowUp") { e.preventDefault(); move(i, i - 1); }
          if (e.key === "ArrowDown") { e.preventDefault(); move(i, i + 1); }
        });
        return li;
      }),
      items.length ? null : h("li", { class: "empty" }, "No action bound: the flow does nothing."),
      h("li", { class: "flow-end" }, "done"));
  };

  // Add from the library: deployed actions supporting this trigger and not yet bound.
  const candidates = library.actions.filter((a) => a.supported_triggers.some((t: any) => t.id === trigger.id));
  const pick = h("select", null, candidates.map((a) => h("option", { value: a.id }, `${a.name}${a.deployed_version ? "" : " (not deployed)"}`)));
  const position = h("select", null, h("option", { value: "start" }, "at the start"), h("option", { value: "end" }, "at the end"));
  const add = h("button", { type: "submit" }, "Add to flow");
  const addForm = h("form", { class: "inline-form", "aria-label": "Add an action" },
    field("Action", "ref", pick), field("Position", "position", position), add);
  addForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const action = names.get(pick.value);
    if (!action) return;
    const binding: Binding = { action_id: action.id, display_name: action.name, on_error: "fail" };
    if (position.value === "start") items.unshift(binding);
    else items.push(binding);
    changed = true;
    render();
  });
  applyButton.addEventListener("click", () => void busy(applyButton, "Applying…", box, async () => {
    const applied = await patch<Flow>(`/v1/triggers/${enc(trigger.id)}/bindings`, {
      bindings: items.map((b) => ({ ref: { type: "action_id", value: b.action_id }, display_name: b.display_name, on_error: b.on_error })),
    });
    toast(`Revision ${applied.revision} applied`);
    await flowsPage(main, session, [trigger.id]);
  }));
  discard.addEventListener("click", () => { items = flow.bindings.map((b) => ({ ...b })); changed = false; render(); });
  render();

  const history = h("div", { class: "stack" });
  clear(box, list, canWrite ? h("div", { class: "row" }, applyButton, discard, state) : state);
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Flows"),
      h("p", { class: "muted" }, "The actions a trigger runs, in order. Drag to reorder (or Alt+↑/↓), then Apply."))),
    h("div", { class: "tabs", role: "tablist", "aria-label": "Triggers" }, triggers.map((t) =>
      h("a", { role: "tab", href: `#/flows/${t.id}`, "aria-selected": String(t.id === trigger.id) }, t.id))),
    h("div", { class: "flow-grid" },
      h("section", { class: "card" }, box, canWrite ? h("div", { class: "add-box" }, h("h3", null, "Add from the library"),
        candidates.length ? addForm : h("p", { class: "muted small" }, `No action supports ${trigger.id} yet.`)) : null),
      h("section", { class: "card" }, h("h3", null, "History"), history)));
  await historyPanel(history, trigger.id, names, canWrite, () => flowsPage(main, session, [trigger.id]));
}

async function historyPanel(box: HTMLElement, trigger: string, names: Map<string, any>, canWrite: boolean, reload: () => Promise<void>): Promise<void> {
  const { revisions } = await get<{ revisions: { number: number; created_at: string; bindings: Binding[] }[] }>(
    `/v1/triggers/${enc(trigger)}/bindings/revisions?per_page=50`);
  revisions.sort((a, b) => b.number - a.number);
  clear(box, revisions.length ? h("ol", { class: "history" }, revisions.map((r, i) => {
    const restore = h("button", { type: "button", class: "ghost small" }, "Restore");
    restore.addEventListener("click", () => void busy(restore, "…", box, async () => {
      const made = await post<Flow>(`/v1/triggers/${enc(trigger)}/bindings/revisions/${r.number}/restore`);
      toast(`Revision ${made.revision} restores ${r.number}`);
      await reload();
    }));
    return h("li", null, h("div", { class: "row" }, h("span", { class: "strong" }, `Revision ${r.number}`), i === 0 ? badge("current", "ok") : null,
      h("span", { class: "muted small grow" }, time(r.created_at)), canWrite && i > 0 ? restore : null),
      h("div", { class: "small muted" }, r.bindings.length ? r.bindings.map((b) => names.get(b.action_id)?.name ?? b.display_name).join(" → ") : "empty"));
  })) : h("p", { class: "muted small" }, "No revision yet."));
  void showError;
}
