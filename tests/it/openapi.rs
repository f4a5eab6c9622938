//! `/openapi.json` is served without a token and documents every Actions and marketplace
//! endpoint, with the bearer scheme and the error body.

use crate::support::{Api, Db, Server};

async fn openapi_document(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (status, doc) = Api::new(&server.url, "").get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("/v1/tenants", &["get", "post"][..]),
        ("/v1/tenants/{tenant_id}/tokens", &["get", "post"]),
        ("/v1/tenants/{tenant_id}/tokens/{token_id}", &["delete"]),
        ("/v1/actions", &["get", "post"]),
        ("/v1/actions/{id}", &["delete", "get", "patch"]),
        ("/v1/actions/{id}/deploy", &["post"]),
        ("/v1/actions/{id}/test", &["post"]),
        ("/v1/actions/{id}/versions", &["get"]),
        ("/v1/actions/{id}/versions/{number}", &["get"]),
        ("/v1/actions/{id}/versions/{number}/deploy", &["post"]),
        ("/v1/actions/{id}/versions/{from}/diff/{to}", &["get"]),
        ("/v1/actions/{id}/secrets", &["get"]),
        ("/v1/actions/{id}/secrets/{name}", &["delete", "put"]),
        ("/v1/marketplace/publishers", &["get", "post"]),
        ("/v1/marketplace/submissions", &["get", "post"]),
        ("/v1/marketplace/submissions/{id}", &["get"]),
        ("/v1/marketplace/submissions/{id}/review", &["get", "post"]),
        ("/v1/marketplace/submissions/{id}/withdraw", &["post"]),
        ("/v1/marketplace/submissions/{id}/flags", &["post"]),
        ("/v1/marketplace/integrations", &["get"]),
        ("/v1/marketplace/integrations/{slug}", &["get"]),
        ("/v1/integrations/installed", &["get", "post"]),
        (
            "/v1/integrations/installed/{id}",
            &["delete", "get", "patch"],
        ),
    ];
    for (path, methods) in expected {
        for method in methods {
            let operation = &doc["paths"][path][method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            assert!(
                operation["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.starts_with('2')),
                "{method} {path}"
            );
            assert!(
                operation["security"].is_array(),
                "{method} {path} has no security"
            );
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for schema in [
        "ErrorBody",
        "ActionBody",
        "CreateAction",
        "VersionBody",
        "DiffBody",
        "TestResult",
        "Submit",
        "SubmissionBody",
        "FindingBody",
        "TransitionBody",
        "Review",
        "ReviewBody",
        "Flag",
        "ListingDetailBody",
        "Install",
        "Upgrade",
        "InstalledBody",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // What the server answers with `null` is declared nullable; request rules are declared.
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [("VersionBody", "lockfile"), ("TestResult", "error")] {
        let property = &schemas[schema]["properties"][field];
        assert!(allows_null(property), "{schema}.{field}: {property}");
    }
    let list = &doc["paths"]["/v1/actions"]["get"]["parameters"];
    let per_page = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "per_page")
        .unwrap();
    assert_eq!(per_page["schema"]["maximum"], 100, "{per_page}");
    assert_eq!(per_page["schema"]["minimum"], 1, "{per_page}");
    assert_eq!(
        schemas["RefKind"]["enum"],
        serde_json::json!(["action_id", "action_name"])
    );
    assert_eq!(
        schemas["OnError"]["enum"],
        serde_json::json!(["fail", "continue"])
    );
    assert_eq!(
        schemas["CreateAction"]["properties"]["name"]["maxLength"],
        128
    );
    let secret = &schemas["SecretInput"]["properties"]["name"];
    assert!(secret["pattern"].is_string(), "{secret}");
    // Each trigger's dispatch documents the event fields the server requires.
    let login = &doc["paths"]["/v1/triggers/post-login/dispatch"]["post"];
    let body = &login["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(
        body["properties"]["event"]["required"],
        serde_json::json!(["user", "client"])
    );
    assert!(login["security"].is_array(), "{login}");
    // The catalog's filters; the scopes the marketplace's endpoints need.
    let catalog = &doc["paths"]["/v1/marketplace/integrations"]["get"]["parameters"];
    let names: Vec<&str> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["trigger", "q", "category"], "{catalog}");
    for (path, method, scope) in [
        ("/v1/marketplace/submissions", "post", "integrations:submit"),
        (
            "/v1/marketplace/submissions/{id}/review",
            "post",
            "marketplace:review",
        ),
        ("/v1/integrations/installed", "post", "actions:write"),
    ] {
        let security = &doc["paths"][path][method]["security"][0]["bearer"];
        assert!(
            security.as_array().unwrap().iter().any(|s| s == scope),
            "{method} {path}: {security}"
        );
    }
}

/// Whether a property's schema admits `null` (OpenAPI 3.0 `nullable`, 3.1 type lists or `oneOf`).
fn allows_null(schema: &serde_json::Value) -> bool {
    schema["nullable"] == true
        || schema["type"]
            .as_array()
            .is_some_and(|types| types.iter().any(|t| t == "null"))
        || ["oneOf", "anyOf"].iter().any(|key| {
            schema[key]
                .as_array()
                .is_some_and(|options| options.iter().any(|o| o["type"] == "null"))
        })
}

mod openapi_document {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::openapi_document(crate::support::Db::sqlite()).await
    }
}
