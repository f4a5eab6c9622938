//! `GET /api/logs/tenant/{container}`: server-sent events with the console lines of the
//! container's extensions as their runs end on any node (`event: log`), optionally only lines
//! containing `filter`; a follower too slow for the stream gets `event: lagged` with the count.

use crate::auth::{Tenant, WEBTASKS_READ};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Path, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only lines whose message contains this text.
    pub filter: Option<String>,
}

#[derive(Serialize)]
struct LineBody<'a> {
    container: &'a str,
    name: &'a str,
    level: &'a str,
    message: &'a str,
    at: chrono::DateTime<chrono::Utc>,
}

/// Follow the console of a container's extensions (server-sent events).
#[utoipa::path(get, path = "/api/logs/tenant/{container}", tag = "webtasks",
    params(("container" = String, Path), LogQuery),
    responses((status = 200, content_type = "text/event-stream",
        description = "`event: log` per console line: {container, name, level, message, at}"),
        (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:read"])))]
async fn stream(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(container): Path<String>,
    QueryParams(query): QueryParams<LogQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    tenant.require(WEBTASKS_READ)?;
    // Another tenant's container is not found, nor one without webtasks (nothing to follow).
    let webtasks = state
        .webtasks
        .list(&tenant.tenant_id, &container, &Default::default())
        .await?;
    if webtasks.is_empty() {
        return Err(crate::error::ApiError::not_found("container", "container"));
    }
    let receiver = state.webtasks.logs().subscribe();
    let filter = query.filter.unwrap_or_default();
    let tenant_id = tenant.tenant_id;
    let stream = crate::logs::follow(receiver, move |line| {
        let ours = line.tenant_id == tenant_id
            && line.container == container
            && line.message.contains(filter.as_str());
        let body = LineBody {
            container: &line.container,
            name: &line.name,
            level: &line.level,
            message: &line.message,
            at: line.at,
        };
        ours.then(|| Event::default().event("log").json_data(&body).ok())
            .flatten()
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
