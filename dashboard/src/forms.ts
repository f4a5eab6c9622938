// Forms whose errors name their field, as the API does: the input the field belongs to is marked
// invalid and the message shows under it; an error for no input shows at the top of the form.
import { h, clear } from "./dom";
import { ApiError } from "./api";

export function field(label: string, name: string, input: HTMLElement, hint?: string): HTMLElement {
  input.id ||= `f-${name.replace(/[^\w-]/g, "-")}`;
  input.setAttribute("data-field", name);
  return h(
    "div",
    { class: "field" },
    h("label", { for: input.id }, label),
    input,
    hint ? h("div", { class: "hint" }, hint) : null,
    h("div", { class: "field-error", "data-error-for": name, role: "alert" }),
  );
}

/** Clears the form's errors. */
export function resetErrors(form: HTMLElement): void {
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  form.querySelectorAll(".field-error, .form-error").forEach((el) => clear(el));
}

/** Shows `error` on its field in `form` (matching the field or its first part), else on top. */
export function showError(form: HTMLElement, error: unknown): void {
  resetErrors(form);
  const failure =
    error instanceof ApiError ? error : new ApiError(0, "error", String(error), null);
  const name = failure.field ?? "";
  const candidates = [name, name.split(/[.[]/)[0]].filter(Boolean);
  for (const candidate of candidates) {
    const slot = form.querySelector<HTMLElement>(`[data-error-for="${CSS.escape(candidate)}"]`);
    if (!slot) continue;
    const input = form.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
    input?.setAttribute("aria-invalid", "true");
    // `meta.KEY` in rows of pairs: the row whose name is KEY is the one at fault.
    const key = name.slice(candidate.length + 1);
    input?.querySelectorAll<HTMLInputElement>(".pair > input:first-child").forEach((el) => {
      if (key && el.value.trim() === key) el.setAttribute("aria-invalid", "true");
    });
    clear(slot, failure.describe());
    return;
  }
  let top = form.querySelector<HTMLElement>(".form-error");
  if (!top) {
    top = h("div", { class: "form-error", role: "alert" });
    form.prepend(top);
  }
  clear(top, failure.describe());
}

/** Runs `action` with the button disabled and showing `busy`; errors go to `form`. */
export async function busy(
  button: HTMLButtonElement,
  label: string,
  form: HTMLElement,
  action: () => Promise<void>,
): Promise<void> {
  const before = button.textContent;
  button.disabled = true;
  button.textContent = label;
  button.classList.add("busy");
  resetErrors(form);
  try {
    await action();
  } catch (error) {
    showError(form, error);
  } finally {
    button.disabled = false;
    button.textContent = before;
    button.classList.remove("busy");
  }
}

export interface Pairs {
  /** The fieldset: rows of name and value, a button to add one. */
  el: HTMLElement;
  /** The non-empty rows, in order. */
  values(): [string, string][];
  set(pairs: [string, string][]): void;
}

/**
 * Rows of name = value (query parameters, headers, metadata), each removable, with "Add": keyboard
 * usable, every input labelled. Errors for `name` (or `name.KEY`) show under the rows.
 */
export function pairs(legend: string, name: string, labels: [string, string], initial: [string, string][] = []): Pairs {
  const rows = h("div", { class: "pairs", "data-field": name });
  const add = h("button", { type: "button", class: "ghost small" }, `+ Add ${labels[0].toLowerCase()}`);
  const row = ([k, v]: [string, string]) => {
    const key = h("input", { value: k, autocomplete: "off", spellcheck: "false", placeholder: labels[0], "aria-label": `${legend}: ${labels[0]}`, class: "mono" });
    const value = h("input", { value: v, autocomplete: "off", spellcheck: "false", placeholder: labels[1], "aria-label": `${legend}: ${labels[1]}`, class: "mono" });
    const remove = h("button", { type: "button", class: "ghost small", "aria-label": `Remove this ${labels[0].toLowerCase()}` }, "×");
    const line = h("div", { class: "pair" }, key, value, remove);
    remove.addEventListener("click", () => {
      const next = line.nextElementSibling?.querySelector("input") ?? add;
      line.remove();
      (next as HTMLElement).focus();
    });
    return line;
  };
  add.addEventListener("click", () => {
    const line = row(["", ""]);
    rows.appendChild(line);
    line.querySelector("input")?.focus();
  });
  const el = h("fieldset", { class: "pairs-field" }, h("legend", null, legend), rows, add,
    h("div", { class: "field-error", "data-error-for": name, role: "alert" }));
  const set = (list: [string, string][]) => clear(rows, list.map(row));
  set(initial);
  return {
    el,
    set,
    values: () => [...rows.querySelectorAll<HTMLElement>(".pair")]
      .map((line) => [...line.querySelectorAll("input")].map((i) => i.value) as [string, string])
      .filter(([k, v]) => k.trim() !== "" || v !== "")
      .map(([k, v]) => [k.trim(), v]),
  };
}
