#!/usr/bin/env bash
# Runs schemathesis (from PyPI) against a fresh `actionflow serve` for a bounded time, with its
# server-error, status-code, content-type and response-schema checks: the OpenAPI document must tell
# the truth about every answer. Tenant endpoints with a tenant token of every scope, then the admin
# endpoints with the admin token. Usage: scripts/schemathesis.sh PATH/TO/actionflow [SECONDS]
set -euo pipefail
binary="$1"
seconds="${2:-60}"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'schemathesis==4.*'

data="$(mktemp -d)"
log="$data/server.log"
admin="af_schemathesis_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ACTIONFLOW_ADMIN_TOKEN="$admin" "$binary" serve --listen 127.0.0.1:0 --data-dir "$data" \
  --registry http://127.0.0.1:9/ >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
url=""
for _ in $(seq 100); do
  url="$(sed -n 's/^actionflow listening on \(http:\/\/[^ ]*\).*/\1/p' "$log")"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; echo "schemathesis: the server did not start" >&2; exit 1; }

json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
tenant="$(curl -sf -X POST "$url/v1/tenants" -H "Authorization: Bearer $admin" \
  -H 'content-type: application/json' -d '{"name": "schemathesis"}' | json '["id"]')"
token="$(curl -sf -X POST "$url/v1/tenants/$tenant/tokens" -H "Authorization: Bearer $admin" \
  -H 'content-type: application/json' \
  -d '{"scopes": ["actions:read", "actions:write", "bindings:read", "bindings:write", "dispatch", "executions:read", "logs:read", "logs:write", "log_streams:read", "log_streams:write", "integrations:submit", "marketplace:review", "webtasks:read", "webtasks:write"]}' \
  | json '["token"]')"

# Real objects for the path parameters, so that operations reach their logic instead of 404: an
# action with a secret, deployed (version 1) and bound to post-login.
code='exports.onExecutePostLogin = async (event, api) => { api.accessToken.setCustomClaim("k", "v"); };'
action="$(curl -sf -X POST "$url/v1/actions" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d "$(python3 -c 'import json, sys; print(json.dumps({"name": "seed", "supported_triggers": [{"id": "post-login"}], "code": sys.argv[1], "secrets": [{"name": "API_KEY", "value": "v"}]}))' "$code")" \
  | json '["id"]')"
curl -sf -X POST "$url/v1/actions/$action/deploy" -H "Authorization: Bearer $token" >/dev/null
curl -sf -X PATCH "$url/v1/triggers/post-login/bindings" -H "Authorization: Bearer $token" \
  -H 'content-type: application/json' -d "{\"bindings\": [{\"ref\": {\"type\": \"action_id\", \"value\": \"$action\"}}]}" >/dev/null
# A published integration (the SES welcome email) for the marketplace's paths: the tenant is its
# publisher and its reviewer.
root="$(cd "$(dirname "$0")/.." && pwd)"
curl -sf -X POST "$url/v1/marketplace/publishers" -H "Authorization: Bearer $admin" \
  -H 'content-type: application/json' -d "{\"name\": \"actionflow\", \"tenant_id\": \"$tenant\"}" >/dev/null
submission="$(ACTIONFLOW_URL="$url" ACTIONFLOW_TOKEN="$token" "$binary" integration submit \
  "$root/integrations/packages/ses-welcome-email" | json '["id"]')"
curl -sf -X POST "$url/v1/marketplace/submissions/$submission/review" -H "Authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"decision": "approve"}' >/dev/null
cat >"$data/schemathesis.toml" <<TOML
[parameters]
"path.id" = "$action"
"path.number" = 1
"path.from" = "1"
"path.to" = "draft"
"path.name" = "API_KEY"
"path.trigger_id" = "post-login"
"path.tenant_id" = "$tenant"
"path.slug" = "ses-welcome-email"
TOML

# schemathesis keeps a cache in the working directory: keep it out of the checkout.
cd "$data"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
st --config-file "$data/schemathesis.toml" run "$url/openapi.json" --checks "$checks" --max-time "$seconds" --phases examples,coverage,fuzzing \
  --exclude-path-regex '^/v1/(tenants|marketplace/publishers)' -H "Authorization: Bearer $token" --seed 1
st --config-file "$data/schemathesis.toml" run "$url/openapi.json" --checks "$checks" --max-time $((seconds / 3 + 1)) --phases examples,coverage,fuzzing \
  --include-path-regex '^/v1/(tenants|marketplace/publishers)' -H "Authorization: Bearer $admin" --seed 1
