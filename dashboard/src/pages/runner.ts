// The runner: calls the extension at its real URL (/run/{container}/{name}[/path]) with a method,
// query parameters, headers and a body, and shows the answer as it came — status, headers, body —
// and which part answered (x-wt-response-source). The call carries no cookie: an extension never
// sees the dashboard's session, and is called exactly as any client would call it.
import { h, clear, badge } from "../dom";
import { ApiError, enc } from "../api";
import { field, busy, pairs } from "../forms";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
/** x-wt-response-source: which part answered. */
const SOURCES: Record<string, string> = { webtask: "the extension's code", compiler: "the compiler", proxy: "the platform" };
/** What the page shows of a body: enough to read, bounded. */
const BODY_SHOWN_MAX = 256 * 1024;

export function runnerPanel(
  panel: HTMLElement,
  container: string,
  name: string,
  saveFirst: () => Promise<boolean>,
): () => Promise<void> {
  const method = h("select", null, METHODS.map((m) => h("option", { value: m }, m)));
  const subpath = h("input", { placeholder: "/items/42 (optional)", autocomplete: "off", spellcheck: "false", class: "mono" });
  const query = pairs("Query parameters", "query", ["Parameter", "Value"], [["name", "Ada"]]);
  const headers = pairs("Headers", "headers", ["Header", "Value"], [["content-type", "application/json"]]);
  const body = h("textarea", { rows: "6", spellcheck: "false", class: "mono" });
  body.value = '{\n  "hello": "world"\n}';
  const bodyField = field("Body", "body", body, "Sent as written; GET and DELETE calls send none.");
  const showBody = () => {
    const none = method.value === "GET" || method.value === "DELETE";
    body.disabled = none;
    bodyField.classList.toggle("disabled", none);
  };
  method.addEventListener("change", showBody);
  showBody();
  const run = h("button", { type: "submit", class: "primary", title: "Run (Ctrl/Cmd+Enter)" }, "Run");
  const line = h("div", { class: "mono small muted", "data-testid": "request-line" });
  const result = h("div", { class: "result", "data-testid": "run-result", "aria-live": "polite" });
  const form = h("form", { class: "stack", "aria-label": "Runner" },
    h("p", { class: "muted small" }, "Calls the saved code (saved first) at its URL, as any client would: no cookie, no token."),
    h("div", { class: "inline-form" }, field("Method", "method", method), field("Path after the name", "path", subpath)),
    query.el, headers.el, bodyField,
    h("div", { class: "row" }, run, line),
    result);

  const target = () => {
    let rest = subpath.value.trim();
    if (/[?#]/.test(rest)) throw new ApiError(400, "invalid_value", "put query parameters below, not in the path", "path");
    if (rest && !rest.startsWith("/")) rest = `/${rest}`;
    const params = new URLSearchParams(query.values());
    return `/run/${enc(container)}/${enc(name)}${rest}${params.size ? `?${params}` : ""}`;
  };
  const update = () => {
    try {
      clear(line, `${method.value} ${target()}`);
    } catch {
      clear(line);
    }
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();

  const execute = async () => {
    const url = target();
    const sent = new Headers();
    for (const [k, v] of headers.values()) {
      try {
        sent.append(k, v);
      } catch {
        throw new ApiError(400, "invalid_value", `${JSON.stringify(k)}: ${JSON.stringify(v)} is not a header a browser can send`, "headers");
      }
    }
    if (!(await saveFirst())) return;
    clear(result, h("div", { class: "muted" }, "Calling…"));
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method: method.value,
        headers: sent,
        body: body.disabled ? undefined : body.value,
        credentials: "omit",
        cache: "no-store",
        redirect: "manual",
      });
    } catch (error) {
      throw new ApiError(0, "network", `the call did not complete: ${(error as Error).message}`, null);
    }
    const text = response.type === "opaqueredirect" ? "" : await response.text();
    renderAnswer(result, response, text, performance.now() - started);
    result.scrollIntoView({ block: "nearest" });
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(run, "Running…", form, execute);
  });
  body.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  clear(panel, form);
  return async () => form.requestSubmit();
}

function renderAnswer(box: HTMLElement, response: Response, text: string, ms: number): void {
  if (response.type === "opaqueredirect") {
    clear(box, h("div", { class: "row" }, badge("redirect", "pending")),
      h("p", { class: "muted small" }, "The extension answered with a redirect, which a browser does not let a page read: call it with curl to see where it points."));
    return;
  }
  const type = response.headers.get("content-type") ?? "";
  let shown = text.length > BODY_SHOWN_MAX ? `${text.slice(0, BODY_SHOWN_MAX)}\n… (${text.length - BODY_SHOWN_MAX} more characters)` : text;
  if (/json/i.test(type) && text.length <= BODY_SHOWN_MAX) {
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON after all: shown as it came.
    }
  }
  const source = response.headers.get("x-wt-response-source");
  const ok = response.status < 400;
  clear(box,
    h("div", { class: "row" },
      h("span", { class: `badge badge-${ok ? "ok" : "failed"}`, "data-testid": "run-status" }, `${response.status} ${response.statusText}`.trim()),
      source ? h("span", { class: "muted small", "data-testid": "run-source" }, `answered by ${SOURCES[source] ?? source}`) : null,
      h("span", { class: "muted small" }, `${ms.toFixed(0)} ms`)),
    h("h3", null, "Headers"),
    h("table", { class: "table compact", "data-testid": "run-headers" }, h("tbody", null,
      [...response.headers.entries()].map(([k, v]) => h("tr", null, h("td", { class: "mono small strong" }, k), h("td", { class: "mono small" }, v))))),
    h("h3", null, "Body"),
    text ? h("pre", { class: "mono code-block", "data-testid": "run-body" }, shown) : h("div", { class: "muted small", "data-testid": "run-body" }, "Empty."));
}
