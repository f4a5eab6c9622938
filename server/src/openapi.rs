//! The OpenAPI 3 document served at `/openapi.json`. The paths and schemas come from the handlers'
//! `#[utoipa::path]` attributes and the DTOs' `ToSchema` derives, collected by each resource's
//! `OpenApiRouter`; this module adds the title and the bearer security scheme.

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
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
    }
}

/// The document before the resources' paths are merged in.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// `GET /openapi.json` (no authentication).
pub fn router(api: OpenApi) -> Router<AppState> {
    let api = Arc::new(api);
    Router::new().route(
        "/openapi.json",
        get(move || {
            let api = Arc::clone(&api);
            async move { Json(api.as_ref().clone()) }
        }),
    )
}
