// The /v1 API with the session cookie: the browser sends the HttpOnly cookie, this module adds
// the session's CSRF token to every write. The token the user signed in with is never kept.

export interface Session {
  kind: "tenant" | "admin";
  tenant_id?: string;
  tenant_name?: string;
  scopes: string[];
  csrf_token: string;
  expires_at: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
  /** "field: message", as the API names the field at fault. */
  describe(): string {
    return this.field ? `${this.field}: ${this.message}` : this.message;
  }
}

let csrf = "";
let onSignedOut: () => void = () => {};

export function setSession(session: Session | null): void {
  csrf = session?.csrf_token ?? "";
}

export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

export async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "the server could not be reached", null);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = json?.error ?? {};
    const failure = new ApiError(
      response.status,
      error.code ?? "error",
      error.message ?? `the request failed (${response.status})`,
      error.field ?? null,
      error,
    );
    if (response.status === 401 && !path.startsWith("/v1/session")) onSignedOut();
    throw failure;
  }
  return json as T;
}

export const get = <T = any>(path: string) => call<T>("GET", path);
export const post = <T = any>(path: string, body?: unknown) => call<T>("POST", path, body ?? {});
export const patch = <T = any>(path: string, body: unknown) => call<T>("PATCH", path, body);
export const put = <T = any>(path: string, body: unknown) => call<T>("PUT", path, body);
export const del = <T = any>(path: string) => call<T>("DELETE", path);

export const enc = encodeURIComponent;
