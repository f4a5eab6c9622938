//! A tenant's whole journey in a real browser against the real binary: sign in → create an action →
//! edit (with completion) → add a dependency → add a secret → test run → deploy → bind to
//! post-login first (moved with the keyboard, then another dragged with the mouse) → dispatch
//! through the API → the live log tail and the execution with its logs;
//! retry of a dead execution; a build error on its line; versions side by side; a flow revision
//! restored; a secret's value never in the page (DOM and every response); markup in names and logs
//! shown as text; another tenant's session sees none of it. The admin's tenants and tokens first.

use std::path::PathBuf;

use fantoccini::key::Key;
use serde_json::json;

use crate::browser::{chromedriver, Browser, Proxy};
use crate::support::registry::Registry;
use crate::support::{Db, Server, Start, ADMIN_TOKEN};

const SECRET_VALUE: &str = "sk_live_dashboard_never_shown_7f3a";
const XSS_NAME: &str = "<img src=x onerror=alert(1)>";

const CODE: &str = r#"const pad = require("left-pad");
exports.onExecutePostLogin = async (event, api) => {
  console.log("hello " + pad(event.user.user_id, 6) + " key " + event.secrets.API_KEY);
  console.log("<script>alert(1)</script>");
  api.accessToken.setCustomClaim("https://example.com/plan", "pro");
};"#;

const BROKEN: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  const ok = 1;
  const = 2;
};"#;

/// The scopes a dashboard user needs for the actions, flows and executions pages.
pub const SCOPES: &[&str] = crate::support::TENANT_SCOPES;

pub fn screenshots() -> Option<PathBuf> {
    std::env::var_os("ACTIONFLOW_SCREENSHOTS").map(PathBuf::from)
}

pub async fn sign_in(browser: &Browser, base: &str, token: &str) {
    browser.goto(&format!("{base}/")).await;
    browser.fill("input[type=password]", token).await;
    browser.button("Sign in").await;
    browser.find("[data-testid=whoami]").await;
}

pub async fn sign_out(browser: &Browser) {
    browser.button("Sign out").await;
    browser.find("input[type=password]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_writes_tests_deploys_and_binds_an_action_in_a_browser() {
    let Some(driver) = chromedriver() else { return };
    let mut registry = Registry::default();
    registry.publish(
        "left-pad",
        "1.3.0",
        "module.exports = (s, n) => String(s).padStart(n, '.');",
    );
    let npm = registry.serve().await;
    let db = Db::sqlite();
    // One attempt per retry budget, at once: a failing async execution is dead in a moment.
    let args = ["--attempts-max", "1", "--backoff-base-ms", "10"];
    let server = Server::start_with(
        &db,
        Start {
            registry: Some(npm.url.clone()),
            args: args.map(String::from).to_vec(),
            ..Start::default()
        },
    )
    .await;
    let (_, acme) = server.tenant("acme", SCOPES).await;
    let (_, other) = server.tenant("globex", SCOPES).await;
    let proxy = Proxy::start(&server.url).await;
    let base = proxy.url.clone();
    let shots = screenshots();
    let browser = Browser::start(driver).await;

    // The admin makes a tenant and a token, shown once.
    sign_in(&browser, &base, ADMIN_TOKEN).await;
    browser.fill("#f-name", "initech").await;
    browser.button("Create tenant").await;
    browser
        .wait_text("[data-testid=tenant-detail]", "initech")
        .await;
    browser.button("Create token").await;
    let shown = browser.find("[data-testid=new-token]").await;
    let token = shown.prop("value").await.unwrap().unwrap_or_default();
    assert!(token.starts_with("af_"), "{token}");
    browser
        .screenshot(shots.as_deref(), "dashboard-admin")
        .await;
    sign_out(&browser).await;
    let (status, _) = server.api(&token).get("/v1/actions").await;
    assert_eq!(status, 200, "the token shown works");

    // Sign in: the token is exchanged for an HttpOnly cookie the page cannot read.
    sign_in(&browser, &base, acme.token()).await;
    browser.wait_text("[data-testid=whoami]", "acme").await;
    let stored = browser
        .script(
            "return document.cookie + JSON.stringify(localStorage) + JSON.stringify(sessionStorage)",
            vec![],
        )
        .await;
    assert!(!stored.to_string().contains("af_"), "{stored}");
    // Every Content-Security-Policy violation from here on is counted.
    browser
        .script(
            "window.cspViolations = [];
             document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective));",
            vec![],
        )
        .await;

    // Create an action, then edit it and save with Ctrl+S.
    browser.fill("#f-name", "claims").await;
    browser.select("#f-supported_triggers", "post-login").await;
    browser.button("Create action").await;
    browser
        .wait_text("[data-testid=action-name]", "claims")
        .await;
    let action_id = acme.get("/v1/actions?name=claims").await.1["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Completion from actions.d.ts: `api.` offers the post-login api.
    let keys = format!(
        "{}{}{}{}api.acc",
        Key::Control,
        Key::End,
        Key::Null,
        Key::Enter
    );
    browser.keys_in_editor(&keys).await;
    browser
        .wait_text(".cm-tooltip-autocomplete", "accessToken")
        .await;
    browser.keys_in_editor(&Key::Escape.to_string()).await;
    browser.set_code(CODE).await;
    browser.keys_in_editor(&format!("{}s", Key::Control)).await;
    wait_for(|| async {
        acme.get(&format!("/v1/actions/{action_id}")).await.1["code"] == json!(CODE)
    })
    .await;

    // A dependency, then a secret (write-only).
    browser.click("[data-tab=dependencies]").await;
    browser.fill("#f-dependencies", "left-pad@^1.3.0").await;
    browser.button("Add").await;
    browser
        .wait_text("[data-testid=dependencies]", "left-pad")
        .await;
    browser.click("[data-tab=secrets]").await;
    browser.fill("#f-name", "API_KEY").await;
    browser.fill("#f-value", SECRET_VALUE).await;
    browser.button("Save secret").await;
    browser.wait_text("[data-testid=secrets]", "API_KEY").await;
    assert_eq!(
        browser
            .script("return document.querySelector('#f-value').value", vec![])
            .await,
        json!("")
    );

    // Test run (Ctrl+Enter from the editor): the api call and the log line, the secret redacted.
    browser.click("[data-tab=test]").await;
    browser.find("#f-event").await;
    browser
        .keys_in_editor(&format!("{}{}", Key::Control, Key::Enter))
        .await;
    browser
        .wait_text("[data-testid=api-calls]", "api.accessToken.setCustomClaim")
        .await;
    let logs = browser.wait_text("[data-testid=logs]", "hello").await;
    assert!(logs.contains("[REDACTED]"), "{logs}");
    assert!(logs.contains("<script>alert(1)</script>"), "{logs}");
    browser
        .screenshot(shots.as_deref(), "dashboard-editor")
        .await;

    // Deploy, then bind to post-login at position 0 (another action is bound already).
    browser.button("Deploy").await;
    browser
        .wait_text("[data-testid=deployed]", "Version 1 deployed")
        .await;
    browser.click("[data-tab=dependencies]").await;
    browser
        .wait_text("[data-testid=dependencies]", "1.3.0")
        .await;
    let (status, first) = acme
        .post(
            "/v1/actions",
            json!({"name": "first", "supported_triggers": [{"id": "post-login"}],
                   "code": "exports.onExecutePostLogin = async () => {};"}),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(
        acme.post(&format!("/v1/actions/{first_id}/deploy"), json!({}))
            .await
            .0,
        201
    );
    assert_eq!(
        acme.patch(
            "/v1/triggers/post-login/bindings",
            json!({"bindings": [{"ref": {"type": "action_id", "value": first_id}}]})
        )
        .await
        .0,
        200
    );
    browser.route("#/flows/post-login").await;
    browser.wait_text("[data-testid=flow]", "first").await;
    // Added at the end, then moved to the top with the keyboard (Alt+↑, as a drag would).
    browser.select("#f-ref", &action_id).await;
    browser.select("#f-position", "end").await;
    browser.button("Add to flow").await;
    browser
        .find(&format!(".flow-item[data-action-id='{action_id}']"))
        .await
        .send_keys(&format!("{}{}", Key::Alt, Key::Up))
        .await
        .unwrap();
    browser.wait_text(".flow-item", "claims").await;
    browser.button("Apply").await;
    browser
        .wait_text("[data-testid=flow-state]", "Revision 2")
        .await;
    let flow = acme.get("/v1/triggers/post-login/bindings").await.1;
    assert_eq!(flow["bindings"][0]["action_id"], json!(action_id), "{flow}");
    assert_eq!(flow["bindings"][1]["action_id"], json!(first_id), "{flow}");
    // Then `first` dragged back on top with the mouse: the page's own drag and drop, a revision.
    browser
        .drag(
            &format!(".flow-item[data-action-id='{first_id}'] .grip"),
            &format!(".flow-item[data-action-id='{action_id}']"),
        )
        .await;
    browser
        .wait_text("[data-testid=flow-state]", "Unapplied changes")
        .await;
    let order = browser
        .script(
            "return [...document.querySelectorAll('.flow-item')].map(li => li.dataset.actionId)",
            vec![],
        )
        .await;
    assert_eq!(order, json!([first_id, action_id]));
    browser.button("Apply").await;
    browser
        .wait_text("[data-testid=flow-state]", "Revision 3")
        .await;
    let flow = acme.get("/v1/triggers/post-login/bindings").await.1;
    assert_eq!(flow["revision"], json!(3), "{flow}");
    assert_eq!(flow["bindings"][0]["action_id"], json!(first_id), "{flow}");
    assert_eq!(flow["bindings"][1]["action_id"], json!(action_id), "{flow}");
    browser
        .screenshot(shots.as_deref(), "dashboard-flows")
        .await;

    // Dispatch through the API: the action's live log tail shows it, then the execution appears
    // with its logs.
    browser.route(&format!("#/actions/{action_id}/logs")).await;
    browser
        .wait_text("[data-testid=live-logs-state]", "Following")
        .await;
    let (status, dispatched) = acme
        .post(
            "/v1/triggers/post-login/dispatch",
            json!({"event": {"user": {"user_id": "u1"}, "client": {"client_id": "c1"}}}),
        )
        .await;
    assert_eq!(status, 200, "{dispatched}");
    let execution_id = dispatched["execution_id"].as_str().unwrap().to_owned();
    browser
        .wait_text("[data-testid=live-logs]", "hello ....u1 key [REDACTED]")
        .await;
    // Sync executions are recorded behind the answer: Refresh until it is there.
    browser.route("#/executions").await;
    browser.find("[data-testid=executions]").await;
    wait_for(|| async {
        browser.button("Refresh").await;
        let link = format!("a[href='#/executions/{execution_id}']");
        let found = browser
            .script(
                "return document.querySelector(arguments[0]) !== null",
                vec![json!(link)],
            )
            .await;
        found == json!(true)
    })
    .await;
    browser
        .screenshot(shots.as_deref(), "dashboard-executions")
        .await;
    browser.route(&format!("#/executions/{execution_id}")).await;
    let results = browser
        .wait_text("[data-testid=execution-results]", "hello ....u1")
        .await;
    assert!(results.contains("<script>alert(1)</script>"), "{results}");
    assert_eq!(
        browser
            .script(
                "return document.querySelectorAll('#main script').length",
                vec![]
            )
            .await,
        json!(0)
    );

    // An async execution that died is retried from its page.
    let (status, failing) = acme
        .post(
            "/v1/actions",
            json!({"name": "failing", "supported_triggers": [{"id": "post-user-registration"}],
                   "code": "exports.onExecutePostUserRegistration = async () => { throw new Error('down'); };"}),
        )
        .await;
    assert_eq!(status, 201, "{failing}");
    let failing_id = failing["id"].as_str().unwrap();
    assert_eq!(
        acme.post(&format!("/v1/actions/{failing_id}/deploy"), json!({}))
            .await
            .0,
        201
    );
    let bind = json!({"bindings": [{"ref": {"type": "action_id", "value": failing_id}}]});
    let (status, _) = acme
        .patch("/v1/triggers/post-user-registration/bindings", bind)
        .await;
    assert_eq!(status, 200);
    let (status, queued) = acme
        .post(
            "/v1/triggers/post-user-registration/dispatch",
            json!({"event": {"user": {"user_id": "u2"}}}),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let dead_id = queued["execution_id"].as_str().unwrap().to_owned();
    wait_for(|| async {
        acme.get(&format!("/v1/executions/{dead_id}")).await.1["status"] == json!("dead")
    })
    .await;
    browser.route("#/executions").await;
    browser.select("#f-status", "dead").await;
    // The filtered list replaces the whole one: wait for it before clicking.
    wait_for(|| async {
        let rows = browser
            .script(
                "return document.querySelectorAll('[data-testid=executions] tbody a').length",
                vec![],
            )
            .await;
        rows == json!(1)
    })
    .await;
    browser
        .find(&format!("a[href='#/executions/{dead_id}']"))
        .await
        .click()
        .await
        .unwrap();
    browser.wait_text(".page-head", "dead").await;
    browser.button("Retry").await;
    wait_for(|| async {
        let attempts = acme.get(&format!("/v1/executions/{dead_id}")).await.1["attempts"].clone();
        attempts == json!(2)
    })
    .await;

    // A build error appears on its line (in the list and marked in the editor).
    browser.route(&format!("#/actions/{action_id}")).await;
    browser.set_code(BROKEN).await;
    browser.button("Deploy").await;
    let problems = browser
        .wait_text("[data-testid=problems]", "The build failed")
        .await;
    assert!(problems.contains("line 3"), "{problems}");
    browser.find("[data-testid=problems] [data-line='3']").await;
    browser.find(".cm-lintRange-error").await;
    browser
        .screenshot(shots.as_deref(), "dashboard-build-error")
        .await;
    // The versions: the deployed one against the draft, side by side.
    browser.click("[data-tab=versions]").await;
    browser.wait_text("[data-testid=versions]", "v1").await;
    browser.button("Compare").await;
    let diff = browser.wait_text("[data-testid=diff]", "const = 2;").await;
    assert!(diff.contains("const pad = require"), "{diff}");
    let sides = browser
        .script(
            "const cells = sel => [...document.querySelectorAll(sel)].map(td => td.textContent);
             return [cells('[data-testid=diff] td.del'), cells('[data-testid=diff] td.add')]",
            vec![],
        )
        .await;
    let (removed, added) = (sides[0].to_string(), sides[1].to_string());
    assert!(removed.contains("require(\\\"left-pad\\\")"), "{removed}");
    assert!(
        added.contains("const = 2;") && !added.contains("left-pad"),
        "{added}"
    );
    // Fixed and deployed as v2, then rolled back: v3 is a copy of v1.
    browser.set_code(CODE).await;
    browser.button("Deploy").await;
    browser
        .wait_text("[data-testid=deployed]", "Version 2 deployed")
        .await;
    browser.click("[data-tab=versions]").await;
    browser.wait_text("[data-testid=versions]", "v2").await;
    browser.button("Roll back to this").await;
    browser
        .wait_text("[data-testid=versions]", "copy of v1")
        .await;
    let action = acme.get(&format!("/v1/actions/{action_id}")).await.1;
    assert_eq!(action["deployed_version"], json!(3), "{action}");

    // Revision 1 of post-login restored from the history: a new revision.
    browser.route("#/flows/post-login").await;
    browser
        .wait_text("[data-testid=flow-state]", "Revision 3")
        .await;
    browser
        .click_xpath("//ol[@class='history']/li[.//span[normalize-space(.)='Revision 1']]//button[normalize-space(.)='Restore']")
        .await;
    browser
        .wait_text("[data-testid=flow-state]", "Revision 4")
        .await;
    let flow = acme.get("/v1/triggers/post-login/bindings").await.1;
    assert_eq!(flow["bindings"].as_array().unwrap().len(), 1, "{flow}");

    // Markup in an action's name is text.
    let (status, xss) = acme
        .post(
            "/v1/actions",
            json!({"name": XSS_NAME, "supported_triggers": [{"id": "post-login"}],
                   "code": "exports.onExecutePostLogin = async () => {};"}),
        )
        .await;
    assert_eq!(status, 201, "{xss}");
    browser.route("#/actions").await;
    let library = browser.wait_text("table", XSS_NAME).await;
    assert!(library.contains("claims"), "{library}");
    assert_eq!(
        browser
            .script(
                "return document.querySelectorAll('#main img').length",
                vec![]
            )
            .await,
        json!(0)
    );
    browser
        .screenshot(shots.as_deref(), "dashboard-actions")
        .await;
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "an alert opened"
    );

    // The secret's value never reached the page: not in the DOM, not in any response.
    let html = browser.html().await;
    assert!(!html.contains(SECRET_VALUE));
    assert!(!proxy.bodies().contains(SECRET_VALUE));
    assert!(proxy.bodies().contains("[REDACTED]"));
    // Tokens never travel in URLs.
    for url in proxy.urls() {
        assert!(!url.contains("af_"), "{url}");
    }
    let violations = browser.script("return window.cspViolations", vec![]).await;
    assert_eq!(violations, json!([]), "the page broke its own CSP");

    // Another tenant's session sees none of it.
    sign_out(&browser).await;
    sign_in(&browser, &base, other.token()).await;
    browser.wait_text("[data-testid=whoami]", "globex").await;
    browser.wait_text("table", "No action yet").await;
    browser.route("#/executions").await;
    browser
        .wait_text("[data-testid=executions]", "No execution matches")
        .await;
    browser.route("#/flows/post-login").await;
    browser
        .wait_text("[data-testid=flow]", "No action bound")
        .await;
    browser.route(&format!("#/actions/{action_id}")).await;
    browser.wait_text(".form-error", "not found").await;
    browser.route(&format!("#/executions/{execution_id}")).await;
    browser.wait_text(".form-error", "not found").await;
    let html = browser.html().await;
    assert!(
        !html.contains("claims") && !html.contains("hello"),
        "{html}"
    );

    browser.close().await;
}

/// Polls `check` until it holds (each check is a real request or page read).
pub async fn wait_for<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the condition never held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
