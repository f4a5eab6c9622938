//! `GET /v1/actions/{id}/logs/stream`: server-sent events with the console output of every execution
//! of the action, as each execution ends (`event: log`, data = one line as JSON). A follower too slow
//! for the stream gets `event: lagged` with the number of lines it missed.

use super::auth::{Tenant, ACTIONS_READ};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::AppState;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::convert::Infallible;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_logs))
}

/// Server-sent events from a broadcast: `event` turns an item into an event, or skips it with
/// `None`; a follower too slow for the stream gets `event: lagged` with the number it missed.
pub(crate) fn follow<T, F>(
    receiver: broadcast::Receiver<T>,
    event: F,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    T: Clone + Send + 'static,
    F: FnMut(&T) -> Option<Event> + Send + 'static,
{
    futures::stream::unfold((receiver, event), |(mut receiver, mut event)| async move {
        loop {
            let next = match receiver.recv().await {
                Ok(item) => match event(&item) {
                    Some(next) => next,
                    None => continue,
                },
                Err(RecvError::Lagged(missed)) => {
                    Event::default().event("lagged").data(missed.to_string())
                }
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(next), (receiver, event)));
        }
    })
}

/// Follow an action's console output (server-sent events).
#[utoipa::path(get, path = "/v1/actions/{id}/logs/stream", tag = "actions",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "`event: log` per console line: {action_id, version, trigger_id, execution_id?, level, message, at}"),
        (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn stream_logs(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    tenant.require(ACTIONS_READ)?;
    state
        .store
        .get_action(&tenant.tenant_id, &id)
        .await
        .map_err(|e| ApiError::from(e).field("id"))?;
    let receiver = state.dispatchers.sync.logs().subscribe();
    let (tenant_id, action_id) = (tenant.tenant_id, id);
    let stream = follow(receiver, move |line| {
        (line.tenant_id == tenant_id && line.action_id == action_id)
            .then(|| Event::default().event("log").json_data(line.as_ref()).ok())
            .flatten()
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
