//! The OpenAPI 3 document served at `/openapi.json`. The paths and schemas come from the handlers'
//! `#[utoipa::path]` attributes and the DTOs' `ToSchema` derives, collected by each resource's
//! `OpenApiRouter`; this module adds the title, the bearer security scheme, and one concrete
//! dispatch path per trigger whose body carries that trigger's event schema (the required fields
//! the server checks), beside the templated `/v1/triggers/{trigger_id}/dispatch`.

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::{Modify, OpenApi as _};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Actionflow API",
        description = "Tenants' JavaScript actions: drafts, deploys, versions, secrets, test runs. \
            Authenticate with `Authorization: Bearer <token>`: the admin token for /v1/tenants, a \
            tenant token (with scopes) for everything else. Errors are \
            `{\"error\": {\"code\", \"message\", \"field\"}}`."
    ),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // The dashboard's session cookie (`POST /v1/session`); writes add `X-CSRF-Token`.
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("af_session"))),
        );
    }
}

/// The document before the resources' paths are merged in.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// The templated dispatch path whose operation each trigger's concrete path copies.
const DISPATCH: &str = "/v1/triggers/{trigger_id}/dispatch";

/// Adds `/v1/triggers/<id>/dispatch` for every trigger of the catalog: the templated operation,
/// without the path parameter, its body's `event` described by the trigger's event schema.
fn with_trigger_paths(api: &OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(api).unwrap_or_default();
    let Some(template) = doc["paths"][DISPATCH]["post"].as_object().cloned() else {
        return doc;
    };
    for spec in actionflow_triggers::catalog() {
        let id = spec.trigger.id;
        let mut event = spec.event_schema.clone();
        if let Some(schema) = event.as_object_mut() {
            schema.remove("$schema");
            schema.remove("$id");
        }
        let mut operation = template.clone();
        if let Some(serde_json::Value::Array(parameters)) = operation.get_mut("parameters") {
            parameters.retain(|p| p["name"] != "trigger_id");
        }
        if let Some(name) = operation.get("operationId").and_then(|o| o.as_str()) {
            let name = format!("{name}_{}", id.replace('-', "_"));
            operation.insert("operationId".to_owned(), name.into());
        }
        operation.insert(
            "summary".to_owned(),
            format!("Dispatch an event to {id}'s flow").into(),
        );
        operation.insert(
            "requestBody".to_owned(),
            serde_json::json!({"required": true, "content": {"application/json": {"schema": {
                "type": "object", "required": ["event"], "additionalProperties": false,
                "properties": {"event": event}}}}}),
        );
        doc["paths"][format!("/v1/triggers/{id}/dispatch")] =
            serde_json::json!({"post": operation});
    }
    doc
}

/// `GET /openapi.json` (no authentication).
pub fn router(api: OpenApi) -> Router<AppState> {
    let api = Arc::new(with_trigger_paths(&api));
    Router::new().route(
        "/openapi.json",
        get(move || {
            let api = Arc::clone(&api);
            async move { Json(api.as_ref().clone()) }
        }),
    )
}
