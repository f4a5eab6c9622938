//! `PUT|GET|PATCH|DELETE /api/webtask/{container}/{name}`, discovery `GET /api/webtask/{container}`
//! (and `GET /api/webtask`: in every container of the tenant), and the storage document
//! `GET|PUT /api/webtask/{container}/{name}/data` (a tenant token, or the storage token an
//! execution's `ctx.storage` sends).

use super::names;
use crate::auth::{Tenant, WEBTASKS_READ, WEBTASKS_WRITE};
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorDetail};
use crate::extract::{JsonBody, Path};
use crate::AppState;
use actionflow_store::StorageWrite;
use actionflow_webtasks::{
    seal, Discovery, ExtensionView, PatchExtension, PutExtension, StorageAccess,
};
use axum::extract::{RawQuery, State};
use axum::http::header::{ETAG, IF_MATCH, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            put_webtask,
            get_webtask,
            patch_webtask,
            delete_webtask
        ))
        .routes(routes!(list_webtasks))
        .routes(routes!(list_all_webtasks))
}

pub fn storage_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_data, write_data))
}

/// An extension's content. Secrets are sealed and never returned.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutWebtask {
    /// The JavaScript (at most 100 KB): `module.exports = function (ctx, cb) {…}`, the `(cb)` and
    /// `(ctx, req, res)` models, async functions, or an ES module's default export.
    pub code: String,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// String values; omitting it clears the metadata. `wt-compiler`, `wt-middleware` and
    /// `wt-node-dependencies` are read.
    pub meta: Option<BTreeMap<String, String>>,
    /// npm name → range; overrides `meta['wt-node-dependencies']`.
    pub dependencies: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for PutWebtask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutWebtask")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A change of an extension: the fields given replace the stored ones, the others are kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebtask {
    pub code: Option<String>,
    /// Replaces the whole metadata.
    pub meta: Option<BTreeMap<String, String>>,
    /// Secret name → its new value, or `null` to delete it; the secrets not named keep their
    /// values (which are never returned).
    #[serde(default)]
    pub secrets: BTreeMap<String, Option<String>>,
    /// npm name → range; replaces the dependencies (resolved and locked again).
    pub dependencies: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for PatchWebtask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchWebtask")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// An extension as Extend shows it (with the names of its secrets, never their values).
#[derive(Serialize, ToSchema)]
pub struct WebtaskBody {
    pub container: String,
    pub name: String,
    pub meta: BTreeMap<String, String>,
    pub webtask_url: String,
    pub secret_names: Vec<String>,
    pub dependencies: BTreeMap<String, String>,
    /// Only with `fetch_code=true` (listing) or on reading one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn body(view: ExtensionView, with_code: bool) -> WebtaskBody {
    WebtaskBody {
        container: view.container,
        name: view.name,
        meta: view.meta,
        webtask_url: view.webtask_url,
        secret_names: view.secret_names,
        dependencies: view.dependencies,
        code: with_code.then_some(view.code),
        created_at: view.created_at,
        updated_at: view.updated_at,
    }
}

/// Create or replace an extension; its URL is in `Location` and `webtask_url`.
#[utoipa::path(put, path = "/api/webtask/{container}/{name}", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)), request_body = PutWebtask,
    responses((status = 200, body = WebtaskBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:write"])))]
async fn put_webtask(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    JsonBody(put): JsonBody<PutWebtask>,
) -> ApiResult<Response> {
    tenant.require(WEBTASKS_WRITE)?;
    names(&container, &name)?;
    let view = state
        .webtasks
        .put(
            &tenant.tenant_id,
            &container,
            &name,
            PutExtension {
                code: put.code,
                secrets: put.secrets,
                meta: put.meta,
                dependencies: put.dependencies,
            },
        )
        .await?;
    let location = view.webtask_url.clone();
    Ok(([(LOCATION, location)], Json(body(view, false))).into_response())
}

/// Read one extension, with its code.
#[utoipa::path(get, path = "/api/webtask/{container}/{name}", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = WebtaskBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:read"])))]
async fn get_webtask(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
) -> ApiResult<Json<WebtaskBody>> {
    tenant.require(WEBTASKS_READ)?;
    let view = state
        .webtasks
        .get(&tenant.tenant_id, &container, &name)
        .await?;
    Ok(Json(body(view, true)))
}

/// Change part of an extension: its code, metadata or dependencies, or secrets one by one (the
/// ones not named are kept). The dashboard saves with it, never seeing a secret's value.
#[utoipa::path(patch, path = "/api/webtask/{container}/{name}", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)), request_body = PatchWebtask,
    responses((status = 200, body = WebtaskBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:write"])))]
async fn patch_webtask(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    JsonBody(patch): JsonBody<PatchWebtask>,
) -> ApiResult<Json<WebtaskBody>> {
    tenant.require(WEBTASKS_WRITE)?;
    let view = state
        .webtasks
        .patch(
            &tenant.tenant_id,
            &container,
            &name,
            PatchExtension {
                code: patch.code,
                meta: patch.meta,
                secrets: patch.secrets,
                dependencies: patch.dependencies,
            },
        )
        .await?;
    Ok(Json(body(view, false)))
}

/// Delete an extension with its storage and cron job.
#[utoipa::path(delete, path = "/api/webtask/{container}/{name}", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:write"])))]
async fn delete_webtask(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    tenant.require(WEBTASKS_WRITE)?;
    state
        .webtasks
        .delete(&tenant.tenant_id, &container, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Discovery: `meta=key:value` (repeatable; all must match), `offset`, `limit` (default 100, at
/// most 1000), `fetch_code=true`.
#[utoipa::path(get, path = "/api/webtask/{container}", tag = "webtasks",
    params(("container" = String, Path),
        ("meta" = Option<Vec<String>>, Query, description = "key:value, repeatable"),
        ("offset" = Option<u32>, Query), ("limit" = Option<u32>, Query),
        ("fetch_code" = Option<bool>, Query)),
    responses((status = 200, body = [WebtaskBody]), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:read"])))]
async fn list_webtasks(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(container): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<WebtaskBody>>> {
    tenant.require(WEBTASKS_READ)?;
    let (discovery, fetch_code) = discovery(query.as_deref().unwrap_or(""))?;
    let views = state
        .webtasks
        .list(&tenant.tenant_id, &container, &discovery)
        .await?;
    Ok(Json(
        views.into_iter().map(|v| body(v, fetch_code)).collect(),
    ))
}

/// Discovery in every container of the token's tenant, by container then name: the same
/// parameters as in one container.
#[utoipa::path(get, path = "/api/webtask", tag = "webtasks",
    params(("meta" = Option<Vec<String>>, Query, description = "key:value, repeatable"),
        ("offset" = Option<u32>, Query), ("limit" = Option<u32>, Query),
        ("fetch_code" = Option<bool>, Query)),
    responses((status = 200, body = [WebtaskBody]), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:read"])))]
async fn list_all_webtasks(
    tenant: Tenant,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<WebtaskBody>>> {
    tenant.require(WEBTASKS_READ)?;
    let (discovery, fetch_code) = discovery(query.as_deref().unwrap_or(""))?;
    let views = state
        .webtasks
        .list_all(&tenant.tenant_id, &discovery)
        .await?;
    Ok(Json(
        views.into_iter().map(|v| body(v, fetch_code)).collect(),
    ))
}

fn discovery(query: &str) -> ApiResult<(Discovery, bool)> {
    let mut meta = Vec::new();
    let mut discovery = Discovery {
        limit: 100,
        ..Discovery::default()
    };
    let mut fetch_code = false;
    let number = |field: &str, v: &str| {
        v.parse::<usize>()
            .map_err(|_| ApiError::bad_request(field, format!("{field} must be a whole number")))
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "meta" => meta.push(v.into_owned()),
            "offset" => discovery.offset = number("offset", &v)?,
            "limit" => discovery.limit = number("limit", &v)?.min(1000),
            "fetch_code" => {
                fetch_code = match v.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ApiError::bad_request(
                            "fetch_code",
                            "fetch_code is true or false",
                        ))
                    }
                }
            }
            other => {
                return Err(ApiError::new(
                    crate::error::Code::UnknownField,
                    other.to_owned(),
                    format!("unknown query parameter {other}"),
                ))
            }
        }
    }
    discovery.meta = actionflow_webtasks::rules::meta_filter(&meta)?;
    Ok((discovery, fetch_code))
}

/// The storage document: its JSON text (`null` when never written) and its etag.
#[derive(Serialize, ToSchema)]
pub struct DataBody {
    pub data: Option<String>,
    pub etag: String,
}

/// A write of the storage document.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutData {
    /// JSON text, at most 500 KB.
    pub data: String,
    /// The etag the write is based on (or the `If-Match` header); none: unconditional.
    pub etag: Option<String>,
}

/// The answer to a write.
#[derive(Serialize, ToSchema)]
pub struct EtagBody {
    pub etag: String,
}

/// A write based on a stale read: the error, and the current document.
#[derive(Serialize, ToSchema)]
pub struct ConflictBody {
    pub error: ErrorDetail,
    pub conflict: DataBody,
}

/// Who is calling the storage routes: an execution's storage token or a tenant's token.
fn access<'a>(
    headers: &'a HeaderMap,
    tenant: &'a Result<Tenant, ApiError>,
    scope: &str,
) -> ApiResult<StorageAccess<'a>> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    if let Some(token) = token.filter(|t| seal::is_storage_token(t)) {
        return Ok(StorageAccess::Token(token));
    }
    match tenant {
        Ok(tenant) => {
            tenant.require(scope)?;
            Ok(StorageAccess::Tenant(&tenant.tenant_id))
        }
        Err(error) => Err(ApiError::new(
            error.code,
            error.field.clone(),
            error.message.clone(),
        )),
    }
}

fn etag_header(etag: i64) -> String {
    format!("\"{etag}\"")
}

/// Read the storage document (a tenant token, or an execution's storage token).
#[utoipa::path(get, path = "/api/webtask/{container}/{name}/data", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = DataBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:read"])))]
async fn read_data(
    tenant: Result<Tenant, ApiError>,
    headers: HeaderMap,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let access = access(&headers, &tenant, WEBTASKS_READ)?;
    let doc = state
        .webtasks
        .read_storage(access, &container, &name)
        .await?;
    let etag = doc.as_ref().map_or(0, |d| d.etag);
    let body = DataBody {
        data: doc.map(|d| d.data),
        etag: etag.to_string(),
    };
    Ok(([(ETAG, etag_header(etag))], Json(body)).into_response())
}

/// Write the storage document; with an etag (field or `If-Match`), only if it is still current
/// (else 409 with the current document in `conflict`).
#[utoipa::path(put, path = "/api/webtask/{container}/{name}/data", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)), request_body = PutData,
    responses((status = 200, body = EtagBody), (status = 409, body = ConflictBody),
        (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:write"])))]
async fn write_data(
    tenant: Result<Tenant, ApiError>,
    headers: HeaderMap,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    JsonBody(put): JsonBody<PutData>,
) -> ApiResult<Response> {
    let access = access(&headers, &tenant, WEBTASKS_WRITE)?;
    let if_match = headers
        .get(IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches('"').to_owned());
    let etag =
        match put.etag.or(if_match) {
            None => None,
            Some(text) => Some(text.trim().parse::<i64>().map_err(|_| {
                ApiError::invalid("etag", "etag must be the value a read returned")
            })?),
        };
    let written = state
        .webtasks
        .write_storage(access, &container, &name, &put.data, etag)
        .await?;
    match written {
        StorageWrite::Written { etag } => Ok((
            [(ETAG, etag_header(etag))],
            Json(EtagBody {
                etag: etag.to_string(),
            }),
        )
            .into_response()),
        StorageWrite::Conflict(current) => {
            let body = ConflictBody {
                error: ErrorDetail {
                    code: crate::error::Code::Conflict.as_str(),
                    message: "the data changed since it was read".to_owned(),
                    field: Some("etag".to_owned()),
                    errors: Vec::new(),
                },
                conflict: DataBody {
                    etag: current.as_ref().map_or(0, |d| d.etag).to_string(),
                    data: current.map(|d| d.data),
                },
            };
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}
