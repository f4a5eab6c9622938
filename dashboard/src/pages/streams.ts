// Log streams: each stream with its health (status, last success, last error, lag), pause,
// resume, replay from a log id, and a new stream whose signing secret is shown once.
import { h, clear, time, badge, toast } from "../dom";
import { get, post, patch, del, enc, type Session } from "../api";
import { field, busy } from "../forms";

export async function streamsPage(main: HTMLElement, session: Session): Promise<void> {
  const canWrite = session.scopes.includes("log_streams:write");
  const streams = await get<any[]>("/v1/log-streams");
  const healths = await Promise.all(streams.map((s) => get<any>(`/v1/log-streams/${enc(s.id)}/health`).catch(() => null)));
  const shown = h("div", { "data-shown": true });
  const cards = streams.map((s, i) => {
    const health = healths[i];
    const box = h("section", { class: "card stack", "data-stream": s.name });
    const toggle = h("button", { type: "button" }, s.status === "active" ? "Pause" : "Resume");
    toggle.addEventListener("click", () => void busy(toggle, "…", box, async () => {
      await patch(`/v1/log-streams/${enc(s.id)}`, { status: s.status === "active" ? "paused" : "active" });
      toast(s.status === "active" ? `${s.name} paused` : `${s.name} resumes at its checkpoint`);
      await streamsPage(main, session);
    }));
    const from = h("input", { placeholder: "log id", inputmode: "numeric", autocomplete: "off" });
    const replay = h("button", { type: "submit" }, "Replay");
    const replayForm = h("form", { class: "inline-form", "aria-label": `Replay ${s.name}` }, field("Send again every event after", "from", from), replay);
    replayForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(replay, "…", replayForm, async () => {
        await post(`/v1/log-streams/${enc(s.id)}/replay`, { from: from.value });
        toast(`${s.name} replays from ${from.value}`);
        await streamsPage(main, session);
      });
    });
    const remove = h("button", { type: "button", class: "ghost danger" }, "Delete");
    remove.addEventListener("click", () => void busy(remove, "…", box, async () => {
      if (!confirm(`Delete the stream ${s.name}?`)) return;
      await del(`/v1/log-streams/${enc(s.id)}`);
      await streamsPage(main, session);
    }));
    const error = health?.last_error;
    clear(box,
      h("div", { class: "row" }, h("span", { class: "strong" }, s.name), badge(s.status, s.status === "active" ? "ok" : s.status === "suspended" ? "failed" : "pending"),
        h("span", { class: "muted small grow mono" }, s.sink.endpoint), canWrite ? [toggle, remove] : null),
      s.status_reason ? h("div", { class: "small muted" }, s.status_reason) : null,
      health ? h("div", { class: "stats" },
        stat("Checkpoint", health.checkpoint), stat("Behind", `${health.lag_events} events`),
        stat("Oldest waiting", `${Math.round(health.lag_seconds)} s`), stat("Last success", time(health.last_success_at)),
        stat("Failures in a row", String(health.consecutive_failures))) : null,
      error?.at ? h("div", { class: "error-box small" }, `Last error ${time(error.at)}${error.status ? ` (HTTP ${error.status})` : ""}: ${error.excerpt ?? ""}`) : null,
      h("div", { class: "small muted" }, `${s.sink.content_format} · batches of ${s.batch_size}`,
        s.filters.types.length ? ` · types ${s.filters.types.join(", ")}` : " · every type", ` · level ≥ ${s.filters.min_level}`),
      canWrite ? replayForm : null);
    return box;
  });

  const name = h("input", { placeholder: "siem", autocomplete: "off" });
  const endpoint = h("input", { type: "url", placeholder: "https://siem.example.com/auth0", autocomplete: "off" });
  const authorization = h("input", { type: "password", autocomplete: "new-password", placeholder: "Bearer …" });
  const create = h("button", { type: "submit", class: "primary" }, "Create stream");
  const form = h("form", { class: "stack", "aria-label": "New log stream", novalidate: true },
    field("Name", "name", name), field("Endpoint", "sink.endpoint", endpoint),
    field("Authorization header (optional)", "sink.authorization", authorization, "Write-only: never shown again."), create, shown);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(create, "Creating…", form, async () => {
      const sink: Record<string, string> = { endpoint: endpoint.value };
      if (authorization.value) sink.authorization = authorization.value;
      const made = await post<any>("/v1/log-streams", { name: name.value, sink });
      await streamsPage(main, session);
      main.querySelector("[data-shown]")?.replaceWith(h("div", { class: "notice", "data-shown": true },
        h("div", { class: "strong" }, `Signing secret of ${made.name}: copy it now, it is shown only this once.`),
        h("input", { readonly: true, value: made.secret, class: "mono", "aria-label": "Signing secret" })));
    });
  });
  clear(main,
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Log streams"),
      h("p", { class: "muted" }, "Your tenant log, pushed to your systems as signed webhooks that never skip an event."))),
    h("div", { class: "flow-grid" },
      h("div", { class: "stack", "data-testid": "streams" }, cards.length ? cards : h("p", { class: "muted card" }, "No stream yet.")),
      canWrite ? h("section", { class: "card" }, h("h2", null, "New stream"), form) : null));
}

function stat(label: string, value: string): HTMLElement {
  return h("div", { class: "stat" }, h("div", { class: "muted small" }, label), h("div", { class: "strong" }, value));
}
