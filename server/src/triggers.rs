//! `GET /v1/triggers` (the catalog: delivery, handler, event schema, api methods) and the mapping of
//! the triggers crate's errors to API errors.

use super::auth::Tenant;
use super::error::{ApiResult, ErrorBody};
use super::AppState;
use actionflow_runtime::Delivery;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_triggers))
}

/// One trigger of the catalog.
#[derive(Serialize, ToSchema)]
pub struct TriggerBody {
    pub id: &'static str,
    pub version: &'static str,
    /// `sync`: the host waits for the flow's effects; `async`: queued, delivered at least once.
    pub delivery: &'static str,
    /// The export an action must define for this trigger.
    pub handler: &'static str,
    /// JSON Schema of the event a dispatch sends.
    #[schema(value_type = Object)]
    pub event_schema: serde_json::Value,
    pub api_methods: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct TriggerList {
    pub triggers: Vec<TriggerBody>,
}

/// List the triggers a flow can be bound to.
#[utoipa::path(get, path = "/v1/triggers", tag = "triggers",
    responses((status = 200, body = TriggerList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_triggers(_tenant: Tenant) -> ApiResult<Json<TriggerList>> {
    let triggers = actionflow_triggers::catalog()
        .into_iter()
        .map(|spec| TriggerBody {
            id: spec.trigger.id,
            version: spec.trigger.version,
            delivery: match spec.trigger.delivery {
                Delivery::Sync => "sync",
                Delivery::Async => "async",
            },
            handler: spec.trigger.handler,
            event_schema: spec.event_schema.clone(),
            api_methods: spec.trigger.api_methods.to_vec(),
        })
        .collect();
    Ok(Json(TriggerList { triggers }))
}
