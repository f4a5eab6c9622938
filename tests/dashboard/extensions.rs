//! Extensions (webtasks) in a real browser: the tenant's containers listed, an extension created,
//! its code edited and saved in the editor, a secret added (write-only: its value never reaches the
//! page) and kept when the code changes again, metadata edited (an unknown compiler named on its
//! key), the runner calling the real `/run/…` URL with a method, path, parameters, headers and a
//! body and showing the real answer (without the session cookie), the live log, a cron schedule
//! created, run, deactivated and removed with its history, and the extension deleted; markup in
//! metadata and logs is text; another tenant's session sees none of it.

use serde_json::json;

use crate::browser::{chromedriver, Browser, Proxy};
use crate::journey::{screenshots, sign_in, sign_out, wait_for};
use crate::support::{Db, Server};

const SECRET_VALUE: &str = "sk_live_extension_never_shown_52d1";
const XSS: &str = "<img src=x onerror=alert(1)>";
const SCOPES: &[&str] = &["webtasks:read", "webtasks:write"];

const CODE: &str = r#"module.exports = function (ctx, cb) {
  console.log("called by " + ctx.query.name + " <script>alert(1)</script>");
  cb(null, {
    hello: ctx.query.name,
    body: ctx.body,
    header: ctx.headers["x-test"] || null,
    cookie: ctx.headers.cookie || null,
    keyed: (ctx.secrets.API_KEY || "").length,
    kind: ctx.meta.kind || null
  });
};"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_writes_runs_and_schedules_an_extension_in_a_browser() {
    let Some(driver) = chromedriver() else { return };
    let db = Db::sqlite();
    let server = Server::in_process(&db, |s| {
        s.webtasks.cron.poll = std::time::Duration::from_millis(200);
    })
    .await;
    let (tenant_id, acme) = server.tenant("acme", SCOPES).await;
    let (_, other) = server.tenant("globex", SCOPES).await;
    // Another container already holds an extension, with markup in its metadata.
    let (status, made) = acme
        .put(
            "/api/webtask/shop/orders",
            json!({"code": "module.exports = (cb) => cb(null, {});", "meta": {"kind": XSS}}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let proxy = Proxy::start(&server.url).await;
    let base = proxy.url.clone();
    let shots = screenshots();
    let browser = Browser::start(driver).await;

    sign_in(&browser, &base, acme.token()).await;
    browser
        .script(
            "window.cspViolations = [];
             document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective));",
            vec![],
        )
        .await;
    // The list: containers with their extensions; markup is text.
    let listed = browser
        .wait_text("[data-testid=extensions]", "orders")
        .await;
    assert!(listed.contains("shop") && listed.contains(XSS), "{listed}");
    assert_eq!(
        browser
            .script(
                "return document.querySelectorAll('#main img').length",
                vec![]
            )
            .await,
        json!(0)
    );

    // Create: a bad name is named on its field, an existing one is not replaced.
    browser.fill("#f-container", "shop").await;
    browser.fill("#f-name", "orders").await;
    browser.button("Create extension").await;
    browser
        .wait_text(
            "[data-error-for=name]",
            "already has an extension named orders",
        )
        .await;
    browser.fill("#f-container", "acme-hooks").await;
    browser.fill("#f-name", "bad name").await;
    browser.button("Create extension").await;
    browser
        .wait_text("[data-error-for=name]", "name must be")
        .await;
    browser.fill("#f-name", "hello").await;
    browser.button("Create extension").await;
    browser
        .wait_text("[data-testid=extension-name]", "hello")
        .await;
    let url = browser.find("[data-testid=webtask-url]").await;
    let url = url.prop("value").await.unwrap().unwrap_or_default();
    assert!(url.ends_with("/run/acme-hooks/hello"), "{url}");

    // The code, saved with Ctrl+S.
    browser.set_code(CODE).await;
    browser
        .keys_in_editor(&format!("{}s", fantoccini::key::Key::Control))
        .await;
    wait_for(|| async { acme.get("/api/webtask/acme-hooks/hello").await.1["code"] == json!(CODE) })
        .await;

    // A secret: write-only, and kept when the code is saved again.
    browser.click("[data-tab=secrets]").await;
    browser.fill("#f-secrets", "API_KEY").await;
    browser.fill("#f-value", SECRET_VALUE).await;
    browser.button("Save secret").await;
    browser.wait_text("[data-testid=secrets]", "API_KEY").await;
    assert_eq!(
        browser
            .script("return document.querySelector('#f-value').value", vec![])
            .await,
        json!("")
    );
    let edited = format!("{CODE}\n// saved again");
    browser.set_code(&edited).await;
    browser.button("Save").await;
    wait_for(|| async {
        acme.get("/api/webtask/acme-hooks/hello").await.1["code"] == json!(edited)
    })
    .await;
    let (_, saved) = acme.get("/api/webtask/acme-hooks/hello").await;
    assert_eq!(saved["secret_names"], json!(["API_KEY"]), "{saved}");

    // Metadata: an unknown compiler is named on its key; removed, the rest is saved.
    browser.click("[data-tab=meta]").await;
    browser.button("+ Add key").await;
    browser
        .fill_last("[aria-label='Metadata: Key']", "kind")
        .await;
    browser
        .fill_last("[aria-label='Metadata: Value']", "greeter")
        .await;
    browser.button("+ Add key").await;
    browser
        .fill_last("[aria-label='Metadata: Key']", "wt-compiler")
        .await;
    browser
        .fill_last("[aria-label='Metadata: Value']", "nope")
        .await;
    browser.button("Save metadata").await;
    let error = browser
        .wait_text("[data-error-for=meta]", "unknown compiler")
        .await;
    assert!(error.starts_with("meta.wt-compiler"), "{error}");
    let invalid = browser
        .script(
            "return [...document.querySelectorAll('.pair > input[aria-invalid]')].map(i => i.value)",
            vec![],
        )
        .await;
    assert_eq!(invalid, json!(["wt-compiler"]));
    browser
        .script(
            "document.querySelectorAll('.pair button')[1].click()",
            vec![],
        )
        .await;
    browser.button("Save metadata").await;
    wait_for(|| async {
        acme.get("/api/webtask/acme-hooks/hello").await.1["meta"] == json!({"kind": "greeter"})
    })
    .await;

    // The runner calls the real URL and shows the real answer, sent without the session cookie.
    browser.click("[data-tab=runner]").await;
    browser.select("#f-method", "POST").await;
    browser.fill("#f-path", "/items/7").await;
    browser.button("+ Add header").await;
    browser
        .fill_last("[aria-label='Headers: Header']", "x-test")
        .await;
    browser
        .fill_last("[aria-label='Headers: Value']", "yes")
        .await;
    browser.fill("#f-body", r#"{"n": 2}"#).await;
    browser
        .wait_text(
            "[data-testid=request-line]",
            "POST /run/acme-hooks/hello/items/7?name=Ada",
        )
        .await;
    browser.button("Run").await;
    browser.wait_text("[data-testid=run-status]", "200").await;
    let answer = browser.wait_text("[data-testid=run-body]", "Ada").await;
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        answer,
        json!({"hello": "Ada", "body": {"n": 2}, "header": "yes", "cookie": null,
               "keyed": SECRET_VALUE.len(), "kind": "greeter"})
    );
    let headers = browser
        .wait_text("[data-testid=run-headers]", "x-wt-response-source")
        .await;
    assert!(headers.contains("application/json"), "{headers}");
    browser
        .wait_text("[data-testid=run-source]", "the extension's code")
        .await;
    assert!(proxy
        .urls()
        .iter()
        .any(|u| u == "/run/acme-hooks/hello/items/7?name=Ada"));
    browser
        .screenshot(shots.as_deref(), "dashboard-extension")
        .await;

    // The live log: a call from elsewhere shows its console line, markup as text.
    browser.click("[data-tab=logs]").await;
    browser
        .wait_text("[data-testid=live-logs-state]", "Following")
        .await;
    let called = reqwest::get(format!("{}/run/acme-hooks/hello?name=Grace", server.url))
        .await
        .unwrap();
    assert_eq!(called.status(), 200);
    browser
        .wait_text(
            "[data-testid=live-logs]",
            "called by Grace <script>alert(1)</script>",
        )
        .await;
    assert_eq!(
        browser
            .script(
                "return document.querySelectorAll('#main script').length",
                vec![]
            )
            .await,
        json!(0)
    );

    // Cron: a bad schedule named on its field; scheduled; a tick runs and shows in the history;
    // deactivated; removed.
    browser.click("[data-tab=cron]").await;
    browser
        .wait_text("[data-testid=cron-job]", "Not scheduled")
        .await;
    browser.fill("#f-schedule", "* * * * * *").await;
    browser.button("Schedule").await;
    browser.find("[data-error-for=schedule]:not(:empty)").await;
    browser.fill("#f-schedule", "*/5 * * * *").await;
    browser.fill("#f-tz", "Europe/Paris").await;
    browser.button("Schedule").await;
    browser
        .wait_text("[data-testid=cron-job]", "Europe/Paris")
        .await;
    let (_, job) = acme.get("/api/cron/acme-hooks/hello").await;
    assert_eq!(
        (job["schedule"].as_str(), job["state"].as_str()),
        (Some("*/5 * * * *"), Some("active")),
        "{job}"
    );
    // The next tick made due now, as if it had come.
    let store = db.open_store().await;
    store
        .put_cron(
            &tenant_id,
            actionflow_store::NewCronJob {
                container: "acme-hooks".to_owned(),
                name: "hello".to_owned(),
                schedule: "*/5 * * * *".to_owned(),
                tz: "Europe/Paris".to_owned(),
                state: "active".to_owned(),
                meta: "{}".to_owned(),
                next_at: chrono::Utc::now() - chrono::Duration::seconds(1),
            },
        )
        .await
        .unwrap();
    wait_for(|| async {
        let (_, runs) = acme.get("/api/cron/acme-hooks/hello/history").await;
        runs[0]["type"] == json!("success")
    })
    .await;
    browser.button("Refresh").await;
    let history = browser
        .wait_text("[data-testid=cron-history]", "success")
        .await;
    assert!(history.contains("200"), "{history}");
    browser.button("Deactivate").await;
    browser
        .wait_text("[data-testid=cron-job]", "inactive")
        .await;
    assert_eq!(
        acme.get("/api/cron/acme-hooks/hello").await.1["state"],
        json!("inactive")
    );
    browser.button("Unschedule").await;
    browser.accept_dialog().await;
    browser
        .wait_text("[data-testid=cron-job]", "Not scheduled")
        .await;
    assert_eq!(acme.get("/api/cron/acme-hooks/hello").await.0, 404);

    // The secret's value never reached the page; no token in a URL; the CSP held.
    assert!(!browser.html().await.contains(SECRET_VALUE));
    assert!(!proxy.bodies().contains(SECRET_VALUE));
    for url in proxy.urls() {
        assert!(!url.contains("af_"), "{url}");
    }
    let violations = browser.script("return window.cspViolations", vec![]).await;
    assert_eq!(violations, json!([]), "the page broke its own CSP");
    assert!(browser.client.get_alert_text().await.is_err());

    // Deleted from its page.
    browser.button("Delete").await;
    browser.accept_dialog().await;
    browser
        .wait_text("[data-testid=extensions]", "orders")
        .await;
    assert_eq!(acme.get("/api/webtask/acme-hooks/hello").await.0, 404);

    // Another tenant's session sees none of it.
    sign_out(&browser).await;
    sign_in(&browser, &base, other.token()).await;
    browser
        .wait_text("[data-testid=extensions]", "No extension yet")
        .await;
    browser.route("#/extensions/shop/orders").await;
    browser.wait_text(".form-error", "not found").await;
    assert!(!browser.html().await.contains("greeter"));

    browser.close().await;
}
