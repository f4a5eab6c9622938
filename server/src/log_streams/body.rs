//! The log streams' request and answer bodies, and their conversions to and from the logs
//! domain's types.

use std::collections::BTreeMap;

use actionflow_logs::stream::{ContentFormat, Filters, SinkInput};
use actionflow_logs::StreamView;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// `Some(None)` for an explicit `null`, `None` when absent.
fn tri_state<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SinkBody {
    pub endpoint: String,
    /// `jsonlines` (default), `jsonarray` or `jsonobject` (`{"logs": […]}`).
    #[schema(value_type = Option<String>)]
    pub content_format: Option<ContentFormat>,
    /// Sent as the `Authorization` header; write-only. In a PATCH, `null` removes it and leaving
    /// it out keeps it.
    #[serde(default, deserialize_with = "tri_state")]
    #[schema(value_type = Option<String>)]
    pub authorization: Option<Option<String>>,
    pub custom_headers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FiltersBody {
    /// Log type codes (all when empty or absent).
    #[serde(default)]
    pub types: Vec<String>,
    /// 0 debug … 4 critical: this level and above.
    #[serde(default)]
    pub min_level: u8,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStreamRequest {
    pub name: String,
    pub sink: SinkBody,
    pub filters: Option<FiltersBody>,
    /// Events per request, 1–100 (default 100).
    pub batch_size: Option<u32>,
    /// One request per batch (default); `false`: one per event, `concurrency` at a time.
    pub send_as_batch: Option<bool>,
    /// 1–20, default 5.
    pub concurrency: Option<u32>,
    /// Begin after this `log_id` (default: only events from now on).
    pub start_from: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchStreamRequest {
    pub name: Option<String>,
    /// `active` (resumes a paused or suspended stream at its checkpoint) or `paused`.
    pub status: Option<String>,
    pub sink: Option<SinkBody>,
    pub filters: Option<FiltersBody>,
    pub batch_size: Option<u32>,
    pub send_as_batch: Option<bool>,
    pub concurrency: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Send again every matching event after this `log_id` (must not be past the checkpoint).
    pub from: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the old secret keeps signing beside the new one (default 86400, at most 30 days).
    pub overlap_seconds: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct SinkView {
    pub endpoint: String,
    pub content_format: String,
    pub custom_headers: BTreeMap<String, String>,
    /// Whether an authorization header is set (its value is never shown).
    pub authorization_set: bool,
}

#[derive(Serialize, ToSchema)]
pub struct StreamBody {
    pub id: String,
    pub name: String,
    /// `active`, `paused` or `suspended`.
    pub status: String,
    pub status_reason: Option<String>,
    pub sink: SinkView,
    pub filters: FiltersView,
    pub batch_size: u32,
    pub send_as_batch: bool,
    pub concurrency: u32,
    /// The last `log_id` delivered or passed over.
    pub checkpoint: String,
    /// While a rotated-out secret still signs: until when.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FiltersView {
    pub types: Vec<String>,
    pub min_level: u8,
}

impl StreamBody {
    pub(super) fn new(v: StreamView, secret: Option<String>) -> StreamBody {
        let format = serde_json::to_value(v.config.sink.content_format).ok();
        StreamBody {
            id: v.id,
            name: v.name,
            status: v.status,
            status_reason: v.status_reason,
            sink: SinkView {
                endpoint: v.config.sink.endpoint,
                content_format: format
                    .and_then(|f| f.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                custom_headers: v.config.sink.custom_headers,
                authorization_set: v.has_authorization,
            },
            filters: FiltersView {
                types: v.config.filters.types,
                min_level: v.config.filters.min_level,
            },
            batch_size: v.config.batch_size,
            send_as_batch: v.config.send_as_batch,
            concurrency: v.config.concurrency,
            checkpoint: v.checkpoint.to_string(),
            previous_secret_expires_at: v.previous_key_expires_at,
            created_at: v.created_at,
            updated_at: v.updated_at,
            secret,
        }
    }
}

pub(super) fn sink_input(sink: SinkBody) -> (SinkInput, Option<Option<String>>) {
    let input = SinkInput {
        endpoint: sink.endpoint,
        content_format: sink.content_format,
        authorization: None,
        custom_headers: sink.custom_headers,
    };
    (input, sink.authorization)
}

pub(super) fn filters(body: Option<FiltersBody>) -> Option<Filters> {
    body.map(|f| Filters {
        types: f.types,
        min_level: f.min_level,
    })
}
