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
    form
      .querySelector(`[data-field="${CSS.escape(candidate)}"]`)
      ?.setAttribute("aria-invalid", "true");
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
