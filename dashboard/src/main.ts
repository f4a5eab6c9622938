// The dashboard's shell: sign-in, the navigation and the hash router (ids in the hash, never a
// token). Pages live in pages/.
import { h, clear, toast, guard } from "./dom";
import { get, post, del, setSession, whenSignedOut, type Session, ApiError } from "./api";
import { field, showError, busy } from "./forms";
import { actionsPage, actionEditor } from "./pages/actions";
import { flowsPage } from "./pages/flows";
import { executionsPage, executionPage } from "./pages/executions";
import { adminPage } from "./pages/admin";
import { streamsPage } from "./pages/streams";
import { catalogPage, integrationPage, installedPage, submissionsPage, submissionPage } from "./pages/marketplace";
import { extensionsPage, extensionPage } from "./pages/extensions";
import { logsPage } from "./pages/logs";

const app = document.getElementById("app") as HTMLElement;
let session: Session | null = null;
/** Called when the page is left: closes live streams. */
let leave: (() => void) | null = null;

export type Page = (main: HTMLElement, session: Session, params: string[]) => Promise<(() => void) | void>;

const routes: [RegExp, Page][] = [
  [/^actions$/, actionsPage],
  [/^actions\/([^/]+)(?:\/(\w+))?$/, actionEditor],
  [/^flows(?:\/([\w-]+))?$/, flowsPage],
  [/^executions$/, executionsPage],
  [/^executions\/([^/]+)$/, executionPage],
  [/^marketplace$/, catalogPage],
  [/^marketplace\/installed$/, installedPage],
  [/^marketplace\/submissions$/, submissionsPage],
  [/^marketplace\/submissions\/([^/]+)$/, submissionPage],
  [/^marketplace\/([^/]+)$/, integrationPage],
  [/^extensions$/, extensionsPage],
  [/^extensions\/([^/]+)\/([^/]+)(?:\/(\w+))?$/, extensionPage],
  [/^logs(?:\/([^/]+))?$/, logsPage],
  [/^admin$/, adminPage],
  [/^streams$/, streamsPage],
];

function signInPage(message?: string): void {
  leave?.();
  leave = null;
  const token = h("input", { type: "password", autocomplete: "off", spellcheck: "false", required: true, autofocus: true });
  const button = h("button", { type: "submit", class: "primary wide" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-card", "aria-label": "Sign in" },
    h("div", { class: "brand big" }, h("img", { src: "/assets/logo.svg", alt: "" }), "Actionflow"),
    h("p", { class: "muted" }, "Sign in with a tenant API token, or the admin token to manage tenants."),
    message ? h("div", { class: "form-error", role: "alert" }, message) : null,
    field("API token", "token", token, "It is exchanged for a session cookie and not kept by the page."),
    button,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(button, "Signing in…", form, async () => {
      const signed = await post<Session>("/v1/session", { token: token.value });
      token.value = "";
      start(signed);
    });
  });
  clear(app, h("div", { class: "signin" }, form));
  token.focus();
}

function nav(s: Session): HTMLElement {
  const link = (href: string, label: string) => h("a", { href: `#/${href}`, "data-nav": href }, label);
  const tenant = s.kind === "tenant";
  const signOut = h("button", { class: "ghost", type: "button" }, "Sign out");
  signOut.addEventListener("click", async () => {
    if (guard.unsaved() && !confirm("Sign out? Your unsaved changes will be lost.")) return;
    guard.unsaved = () => false;
    try {
      await del("/v1/session");
    } finally {
      session = null;
      setSession(null);
      location.hash = "";
      signInPage();
    }
  });
  return h(
    "nav",
    { class: "sidebar", "aria-label": "Main" },
    h("div", { class: "brand" }, h("img", { src: "/assets/logo.svg", alt: "" }), "Actionflow"),
    h(
      "div",
      { class: "nav-links" },
      tenant && s.scopes.includes("actions:read") ? link("actions", "Actions") : null,
      tenant && s.scopes.includes("bindings:read") ? link("flows", "Flows") : null,
      tenant && s.scopes.includes("executions:read") ? link("executions", "Executions") : null,
      tenant && s.scopes.includes("webtasks:read") ? link("extensions", "Extensions") : null,
      tenant && s.scopes.includes("logs:read") ? link("logs", "Logs") : null,
      tenant && s.scopes.includes("log_streams:read") ? link("streams", "Log streams") : null,
      tenant ? h("div", { class: "nav-group" }, "Marketplace") : null,
      tenant ? [link("marketplace", "Catalog"), link("marketplace/installed", "Installed"), link("marketplace/submissions", "Submissions")] : null,
      !tenant ? link("admin", "Tenants") : null,
    ),
    h(
      "div",
      { class: "whoami" },
      h("div", { class: "muted small" }, tenant ? "Tenant" : "Signed in as"),
      h("div", { class: "strong", "data-testid": "whoami" }, tenant ? s.tenant_name ?? s.tenant_id ?? "" : "Admin"),
      signOut,
    ),
  );
}

/** Where a session lands: the first page its scopes can read. */
function home(s: Session): string {
  if (s.kind === "admin") return "admin";
  if (s.scopes.includes("actions:read")) return "actions";
  if (s.scopes.includes("webtasks:read")) return "extensions";
  if (s.scopes.includes("logs:read")) return "logs";
  if (s.scopes.some((x) => x === "marketplace:review" || x === "integrations:submit")) return "marketplace/submissions";
  if (s.scopes.includes("log_streams:read")) return "streams";
  return "marketplace";
}

let shown = "";

async function route(): Promise<void> {
  if (!session) return;
  const path = location.hash.replace(/^#\/?/, "") || home(session);
  if (shown && path !== shown && guard.unsaved() && !confirm("Leave this page? Your unsaved changes will be lost.")) {
    history.replaceState(null, "", `#/${shown}`);
    return;
  }
  shown = path;
  guard.unsaved = () => false;
  leave?.();
  leave = null;
  const main = h("main", { class: "content", id: "main", tabindex: "-1" });
  clear(app, h("div", { class: "layout" }, nav(session), main));
  app.querySelectorAll<HTMLAnchorElement>("[data-nav]").forEach((a) => {
    const current = path === a.dataset.nav || (a.dataset.nav !== "marketplace" && path.startsWith(`${a.dataset.nav}/`))
      || (a.dataset.nav === "marketplace" && /^marketplace\/(?!installed|submissions)/.test(path));
    if (current) a.setAttribute("aria-current", "page");
  });
  for (const [pattern, page] of routes) {
    const match = pattern.exec(path.split("?")[0]);
    if (!match) continue;
    try {
      leave = (await page(main, session, match.slice(1).map((p) => (p ? decodeURIComponent(p) : p)))) ?? null;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      const box = h("div", { class: "card" });
      main.appendChild(box);
      showError(box, error);
    }
    return;
  }
  clear(main, h("h1", null, "Not found"), h("p", null, "This page does not exist."));
}

function start(signed: Session): void {
  session = signed;
  shown = "";
  setSession(signed);
  void route();
}

whenSignedOut(() => {
  if (!session) return;
  session = null;
  setSession(null);
  signInPage("Your session has ended: sign in again.");
});
window.addEventListener("hashchange", () => void route());
document.addEventListener("keydown", (event) => {
  if (event.key === "/" && !(event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement)) {
    const search = document.querySelector<HTMLInputElement>("[data-search]");
    if (search && !(event.target as HTMLElement).closest(".cm-editor")) {
      event.preventDefault();
      search.focus();
    }
  }
});

get<Session>("/v1/session").then(start, () => signInPage());
export { toast };
