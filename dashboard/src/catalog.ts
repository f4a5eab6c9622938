// What the dashboard reads once per sign-in: the triggers' catalog (handlers, event schemas), and
// a sample event per trigger made from its schema.
import { get } from "./api";

export interface Trigger {
  id: string;
  version: string;
  delivery: "sync" | "async";
  handler: string;
  event_schema: any;
  api_methods: string[];
}

let triggers: Promise<Trigger[]> | null = null;

export function loadTriggers(): Promise<Trigger[]> {
  triggers ??= get<{ triggers: Trigger[] }>("/v1/triggers").then((r) => r.triggers);
  triggers.catch(() => (triggers = null));
  return triggers;
}

const SAMPLE_VALUES: Record<string, unknown> = {
  user_id: "auth0|5f7c8ec7c33c6c004bbafe82",
  email: "ada@example.com",
  email_verified: true,
  username: "ada",
  name: "Ada Lovelace",
  phone_number: "+15555550100",
  created_at: "2026-01-15T09:30:00.000Z",
  client_id: "aBcD1234eFgH5678",
  ip: "203.0.113.7",
  hostname: "login.example.com",
  method: "POST",
  language: "en",
  user_agent: "Mozilla/5.0",
  id: "evt_01",
  message: "Your code is 123456",
  recipient: "+15555550100",
};

/** A realistic event for the trigger: every property of its schema, with sample values. */
export function sampleEvent(trigger: Trigger): Record<string, unknown> {
  const fill = (schema: any, name: string, depth: number, parent = ""): unknown => {
    if (!schema || schema.not) return undefined;
    // An `id` inside an object is that object's id (tenant, connection…), not the event's.
    if (name === "id" && depth > 1) return `${parent}_1`;
    if (name in SAMPLE_VALUES && schema.type !== "object") return SAMPLE_VALUES[name];
    switch (schema.type) {
      case "object": {
        const out: Record<string, unknown> = {};
        if (depth > 3) return out;
        for (const [key, sub] of Object.entries<any>(schema.properties ?? {})) {
          if (key === "geoip" || key === "query" || key === "body" || key === "transaction") continue;
          const value = fill(sub, key, depth + 1, name);
          if (value !== undefined) out[key] = value;
        }
        if (name === "user") out.app_metadata = { plan: "pro" };
        return out;
      }
      case "array":
        return [];
      case "boolean":
        return false;
      case "number":
      case "integer":
        return 0;
      case "string":
        return schema.enum?.[0] ?? `${name}`;
      default:
        return undefined;
    }
  };
  const event = fill(trigger.event_schema, "event", 0) as Record<string, unknown>;
  return event ?? {};
}

export function defaultCode(trigger: Trigger): string {
  const apiLine = trigger.api_methods.includes("accessToken.setCustomClaim")
    ? '  api.accessToken.setCustomClaim("https://example.com/plan", event.user?.app_metadata?.plan);\n'
    : "";
  return `/**\n * Handler that will be called during the execution of the ${trigger.id} flow.\n */\nexports.${trigger.handler} = async (event, api) => {\n  console.log("${trigger.id} for", event.user?.user_id);\n${apiLine}};\n`;
}
