//! Publishers, submissions, review, listing flags and the catalog.

use super::dto::*;
use crate::auth::{Admin, Tenant, INTEGRATIONS_SUBMIT, MARKETPLACE_REVIEW};
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{JsonBody, Path, QueryParams};
use crate::AppState;
use actionflow_marketplace::{Actor, CatalogQuery, Decision, Viewer};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_publisher, list_publishers))
        .routes(routes!(get_submission))
        .routes(routes!(get_review, review))
        .routes(routes!(withdraw))
        .routes(routes!(flag))
        .routes(routes!(catalog))
        .routes(routes!(listing))
}

fn actor(tenant: &Tenant) -> Actor {
    Actor {
        tenant_id: tenant.tenant_id.clone(),
        token_id: tenant.token_id.clone(),
    }
}

/// A reviewer, else the publisher's tenant; 403 without either scope.
fn viewer(tenant: &Tenant) -> ApiResult<Viewer> {
    if tenant.require(MARKETPLACE_REVIEW).is_ok() {
        return Ok(Viewer::Reviewer);
    }
    tenant.require(INTEGRATIONS_SUBMIT)?;
    Ok(Viewer::Publisher {
        tenant_id: tenant.tenant_id.clone(),
    })
}

/// Create a publisher owned by a tenant (admin).
#[utoipa::path(post, path = "/v1/marketplace/publishers", tag = "marketplace",
    request_body = CreatePublisher,
    responses((status = 201, body = PublisherBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_publisher(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreatePublisher>,
) -> ApiResult<(StatusCode, Json<PublisherBody>)> {
    let publisher = state
        .marketplace
        .create_publisher(&body.name, &body.tenant_id)
        .await?;
    Ok((StatusCode::CREATED, Json(publisher.into())))
}

/// List publishers (admin).
#[utoipa::path(get, path = "/v1/marketplace/publishers", tag = "marketplace",
    responses((status = 200, body = PublisherList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_publishers(
    _: Admin,
    State(state): State<AppState>,
) -> ApiResult<Json<PublisherList>> {
    let publishers = state.marketplace.list_publishers().await?;
    Ok(Json(PublisherList {
        publishers: publishers.into_iter().map(Into::into).collect(),
    }))
}

/// Submit a package: it is stored and answered at once, `checking` (202, with `Location` to poll);
/// the checks run in the background and end `checks_failed` (with the report) or `in_review`. A
/// package that cannot be stored (unreadable archive, path traversal, links, decompression bomb,
/// no usable manifest, a version not higher than every earlier one) is 422.
#[utoipa::path(post, path = "/v1/marketplace/submissions", tag = "marketplace",
    request_body = Submit,
    responses((status = 202, body = SubmissionBody,
        headers(("Location" = String, description = "The submission, to poll until its checks end"))),
        (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["integrations:submit"])))]
pub(super) async fn submit(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Submit>,
) -> ApiResult<(
    StatusCode,
    [(header::HeaderName, String); 1],
    Json<SubmissionBody>,
)> {
    tenant.require(INTEGRATIONS_SUBMIT)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body.package.trim())
        .map_err(|_| ApiError::invalid("package", "the package is not base64"))?;
    let view = state.marketplace.submit(&actor(&tenant), &bytes).await?;
    let location = format!("/v1/marketplace/submissions/{}", view.submission.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(view.into()),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SubmissionQuery {
    /// Only submissions in this state.
    pub state: Option<String>,
}

/// List submissions: a reviewer sees all, a publisher its own; newest first.
#[utoipa::path(get, path = "/v1/marketplace/submissions", tag = "marketplace",
    params(SubmissionQuery),
    responses((status = 200, body = SubmissionList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["integrations:submit", "marketplace:review"])))]
pub(super) async fn list_submissions(
    tenant: Tenant,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<SubmissionQuery>,
) -> ApiResult<Json<SubmissionList>> {
    let viewer = viewer(&tenant)?;
    let list = state
        .marketplace
        .submissions(&viewer, query.state.as_deref().filter(|s| !s.is_empty()))
        .await?;
    Ok(Json(SubmissionList {
        submissions: list.into_iter().map(Into::into).collect(),
    }))
}

/// A submission with its state, check report and every transition (who, when, why).
#[utoipa::path(get, path = "/v1/marketplace/submissions/{id}", tag = "marketplace",
    params(("id" = String, Path)),
    responses((status = 200, body = SubmissionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["integrations:submit", "marketplace:review"])))]
async fn get_submission(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<SubmissionBody>> {
    let viewer = viewer(&tenant)?;
    let view = state.marketplace.submission(&viewer, &id).await?;
    Ok(Json(view.into()))
}

/// What a reviewer reads: the code, and the diff and breaking changes since the latest published
/// version.
#[utoipa::path(get, path = "/v1/marketplace/submissions/{id}/review", tag = "marketplace",
    params(("id" = String, Path)),
    responses((status = 200, body = ReviewBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["marketplace:review"])))]
async fn get_review(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReviewBody>> {
    tenant.require(MARKETPLACE_REVIEW)?;
    Ok(Json(state.marketplace.review_material(&id).await?.into()))
}

/// Decide on a submission in review: `approve` publishes it (an immutable listing version; with
/// `acknowledge_warnings` when the checks left warnings), `request_changes` and `reject` need a
/// comment.
#[utoipa::path(post, path = "/v1/marketplace/submissions/{id}/review", tag = "marketplace",
    params(("id" = String, Path)), request_body = Review,
    responses((status = 200, body = SubmissionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["marketplace:review"])))]
async fn review(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Review>,
) -> ApiResult<Json<SubmissionBody>> {
    tenant.require(MARKETPLACE_REVIEW)?;
    let decision = Decision::parse(&body.decision)
        .ok_or_else(|| ApiError::invalid("decision", "use approve, request_changes or reject"))?;
    let view = state
        .marketplace
        .review(
            &actor(&tenant),
            &id,
            decision,
            body.comment.as_deref(),
            body.acknowledge_warnings,
        )
        .await?;
    Ok(Json(view.into()))
}

/// The publisher withdraws a submission before publication.
#[utoipa::path(post, path = "/v1/marketplace/submissions/{id}/withdraw", tag = "marketplace",
    params(("id" = String, Path)), request_body = Withdraw,
    responses((status = 200, body = SubmissionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["integrations:submit"])))]
async fn withdraw(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Withdraw>,
) -> ApiResult<Json<SubmissionBody>> {
    tenant.require(INTEGRATIONS_SUBMIT)?;
    let view = state
        .marketplace
        .withdraw(&actor(&tenant), &id, body.reason.as_deref())
        .await?;
    Ok(Json(view.into()))
}

/// The publisher deprecates or yanks a published version (no new installs either way).
#[utoipa::path(post, path = "/v1/marketplace/submissions/{id}/flags", tag = "marketplace",
    params(("id" = String, Path)), request_body = Flag,
    responses((status = 200, body = SubmissionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["integrations:submit"])))]
async fn flag(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Flag>,
) -> ApiResult<Json<SubmissionBody>> {
    tenant.require(INTEGRATIONS_SUBMIT)?;
    if !body.deprecated && !body.yanked {
        return Err(ApiError::new(
            Code::InvalidValue,
            "deprecated".to_owned(),
            "set deprecated or yanked",
        ));
    }
    let submission = state
        .marketplace
        .flag(&actor(&tenant), &id, body.deprecated, body.yanked)
        .await?;
    Ok(Json(submission.into()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct CatalogParams {
    /// Only integrations supporting this trigger.
    pub trigger: Option<String>,
    /// Text in the name, slug or descriptions.
    pub q: Option<String>,
    /// Only integrations listing this category.
    pub category: Option<String>,
}

/// The catalog of published integrations (any tenant token).
#[utoipa::path(get, path = "/v1/marketplace/integrations", tag = "marketplace",
    params(CatalogParams),
    responses((status = 200, body = ListingList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn catalog(
    _tenant: Tenant,
    State(state): State<AppState>,
    QueryParams(params): QueryParams<CatalogParams>,
) -> ApiResult<Json<ListingList>> {
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let query = CatalogQuery {
        trigger: nonempty(params.trigger),
        q: nonempty(params.q),
        category: nonempty(params.category),
    };
    let listings = state.marketplace.catalog(&query).await?;
    Ok(Json(ListingList {
        integrations: listings.into_iter().map(Into::into).collect(),
    }))
}

/// One published integration: versions, installation guide, the secrets and configuration it
/// needs.
#[utoipa::path(get, path = "/v1/marketplace/integrations/{slug}", tag = "marketplace",
    params(("slug" = String, Path)),
    responses((status = 200, body = ListingDetailBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn listing(
    _tenant: Tenant,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Json<ListingDetailBody>> {
    Ok(Json(state.marketplace.listing(&slug).await?.into()))
}
