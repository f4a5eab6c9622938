//! The marketplace's shared set-up: the reference package (the SES welcome email) and variants of
//! it, a partner with its publisher and a reviewer, publishing a package, and a server whose
//! runtimes have `actionflow:ses`.

use serde_json::{json, Value};

use super::registry::{Registry, Served};
use super::{Api, Db, Server};

pub const PACKAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/integrations/packages/ses-welcome-email"
);

/// A tenant whose token submits for the publisher `actionflow`, and a reviewer's token.
pub async fn partner_and_reviewer(server: &Server) -> (String, Api, Api) {
    let (partner_id, partner) = server.tenant("partner", &["integrations:submit"]).await;
    let (_, reviewer) = server.tenant("reviewers", &["marketplace:review"]).await;
    let (status, publisher) = server
        .admin()
        .post(
            "/v1/marketplace/publishers",
            json!({"name": "actionflow", "tenant_id": partner_id}),
        )
        .await;
    assert_eq!(status, 201, "{publisher}");
    (partner_id, partner, reviewer)
}

pub fn submit_body(bytes: &[u8]) -> Value {
    use base64::Engine as _;
    json!({"package": base64::engine::general_purpose::STANDARD.encode(bytes)})
}

/// A server in this process with `actionflow:ses` (as the binary gives every runtime) and a
/// local npm registry serving `greeting@1.2.3`.
pub async fn market_server(db: &Db) -> (Server, Served) {
    let mut registry = Registry::default();
    registry.publish(
        "greeting",
        "1.2.3",
        "exports.greet = (who) => `hello ${who}`;",
    );
    let registry = registry.serve().await;
    let registry_url = registry.url.clone();
    let server = Server::in_process(db, |s| {
        let ses = actionflow_ses::SesModule::new(actionflow_ses::SesConfig::default());
        s.host_modules = vec![std::sync::Arc::new(ses)];
        s.npm_discovery.registry_flag = Some(registry_url);
    })
    .await;
    (server, registry)
}

/// The reference package as a `.tgz`, packed by the library (the CLI packs the same bytes).
pub fn reference_package() -> Vec<u8> {
    let limits = actionflow_marketplace::PackageLimits::default();
    actionflow_marketplace::Package::from_dir(std::path::Path::new(PACKAGE), &limits)
        .unwrap()
        .pack()
}

/// Edits the reference package's manifest and code, and packs it.
pub fn variant(edit: impl FnOnce(&mut Value), code: impl FnOnce(String) -> String) -> Vec<u8> {
    let limits = actionflow_marketplace::PackageLimits::default();
    let mut package =
        actionflow_marketplace::Package::from_dir(std::path::Path::new(PACKAGE), &limits).unwrap();
    let mut manifest: Value =
        serde_json::from_slice(package.file("integration.json").unwrap()).unwrap();
    edit(&mut manifest);
    package.files.insert(
        "integration.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    );
    let text = package.text("integration.action.js").unwrap().to_owned();
    package
        .files
        .insert("integration.action.js".into(), code(text).into_bytes());
    package.pack()
}

/// Submits `package`; a stored one (202, `checking`) is read again until its checks (run by
/// the server in the background) ended. The status of the submit, and the submission or error.
pub async fn submit(partner: &Api, package: &[u8]) -> (u16, Value) {
    let (status, mut submitted) = partner
        .post("/v1/marketplace/submissions", submit_body(package))
        .await;
    if status != 202 {
        return (status, submitted);
    }
    assert_eq!(submitted["state"], "checking", "{submitted}");
    let path = format!(
        "/v1/marketplace/submissions/{}",
        submitted["id"].as_str().unwrap()
    );
    let started = std::time::Instant::now();
    while submitted["state"] == "checking" {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "still checking: {submitted}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        submitted = partner.get(&path).await.1;
    }
    (status, submitted)
}

/// Submits `package` and approves it; the submission's id.
pub async fn publish(partner: &Api, reviewer: &Api, package: &[u8]) -> String {
    let (status, submitted) = submit(partner, package).await;
    assert_eq!(
        (status, submitted["state"].as_str()),
        (202, Some("in_review")),
        "{submitted}"
    );
    let id = submitted["id"].as_str().unwrap().to_owned();
    approve(reviewer, &id).await;
    id
}

/// Approves submission `id`, which must then be published.
pub async fn approve(reviewer: &Api, id: &str) {
    let (status, published) = reviewer
        .post(
            &format!("/v1/marketplace/submissions/{id}/review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(
        (status, published["state"].as_str()),
        (200, Some("published")),
        "{published}"
    );
}

/// The code of [`greeter`]: the claim `greeting` is the configured GREETING and the length of the
/// secret API_KEY; it reaches no network.
pub const GREETER_CODE: &str = "exports.onExecutePostLogin = async (event, api) => {\n  \
    api.accessToken.setCustomClaim(\"greeting\", `${event.configuration.GREETING} ${event.secrets.API_KEY.length}`);\n};\n";

/// A post-login integration `greeter` 1.0.0 of the publisher `actionflow` (from the scaffold,
/// secret API_KEY, configuration GREETING, `network.hosts` api.example.com) running `code`; its
/// one test (secret `test-key`, GREETING `hi`) expects the claim `greeting` = `hi 8`. `edit`
/// changes the manifest. Packed.
pub fn greeter(edit: impl FnOnce(&mut Value), code: &str) -> Vec<u8> {
    let mut package =
        actionflow_marketplace::scaffold::scaffold("post-login", "greeter", "actionflow").unwrap();
    let mut manifest: Value =
        serde_json::from_slice(package.file("integration.json").unwrap()).unwrap();
    manifest["version"] = json!("1.0.0");
    manifest["categories"] = json!(["identity"]);
    edit(&mut manifest);
    let test = json!({
        "name": "the claim carries the greeting",
        "event": {"user": {"user_id": "u1"}, "client": {"client_id": "web"}},
        "secrets": {"API_KEY": "test-key"},
        "configuration": {"GREETING": "hi"},
        "expect": {"status": "completed", "api_calls": [
            {"method": "accessToken.setCustomClaim", "args": ["greeting", "hi 8"]}]},
    });
    package.files.insert(
        "integration.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    );
    package
        .files
        .insert("integration.action.js".into(), code.as_bytes().to_vec());
    package.files.insert(
        "tests/success.json".into(),
        serde_json::to_vec(&test).unwrap(),
    );
    package.pack()
}

/// Installs `greeter` at `version` in `tenant` with API_KEY `acme-key` and GREETING `hello`,
/// bound to post-login; the installed copy.
pub async fn install_greeter(tenant: &Api, version: &str) -> Value {
    let (status, installed) = tenant
        .post(
            "/v1/integrations/installed",
            json!({
                "integration": "greeter", "version": version,
                "secrets": {"API_KEY": "acme-key"},
                "configuration": {"GREETING": "hello"},
                "bind": {"trigger": "post-login"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{installed}");
    installed
}

/// A login dispatched to post-login for `user_id`: the flow's answer.
pub async fn login(tenant: &Api, user_id: &str) -> Value {
    let (status, flow) = tenant
        .post(
            "/v1/triggers/post-login/dispatch",
            json!({"event": {"user": {"user_id": user_id}, "client": {"client_id": "web"}}}),
        )
        .await;
    assert_eq!(status, 200, "{flow}");
    flow
}
