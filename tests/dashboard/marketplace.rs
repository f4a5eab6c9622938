//! The marketplace's pages in a real browser: a partner uploads the SES package and reads its check
//! report; a reviewer approves it from the queue (report, code, decision); a tenant finds it in the catalog and installs it through the form made
//! from its manifest, whose error names the missing value's field; the installed copy is listed;
//! a 2.0.0 is published and the tenant upgrades to it from the installed integrations (the new
//! required value named on its field first); the secret values typed in never come back to the
//! page.

use serde_json::json;

use crate::browser::{chromedriver, Browser, Proxy};
use crate::journey::{screenshots, sign_in, sign_out, SCOPES};
use crate::support::marketplace::{
    market_server, partner_and_reviewer, publish, reference_package, variant,
};
use crate::support::Db;

const AWS_SECRET: &str = "aws_secret_typed_in_the_browser_91c2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_publishes_and_a_tenant_installs_in_a_browser() {
    let Some(driver) = chromedriver() else { return };
    let db = Db::sqlite();
    let (server, _registry) = market_server(&db).await;
    let (_, partner, reviewer) = partner_and_reviewer(&server).await;
    let mut scopes = SCOPES.to_vec();
    scopes.push("bindings:write");
    let (_, tenant) = server.tenant("acme", &scopes).await;
    let proxy = Proxy::start(&server.url).await;
    let shots = screenshots();
    let browser = Browser::start(driver).await;

    // The partner uploads the package and reads its check report.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ses-welcome-email-1.0.0.tgz");
    std::fs::write(&file, reference_package()).unwrap();
    sign_in(&browser, &proxy.url, partner.token()).await;
    browser
        .find("#f-package")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    browser.button("Submit package").await;
    browser.wait_text(".page-head", "in_review").await;
    browser.wait_text("main", "Check report").await;
    browser
        .screenshot(shots.as_deref(), "dashboard-submission")
        .await;
    sign_out(&browser).await;

    // The reviewer lands on the queue, reads the report, approves.
    sign_in(&browser, &proxy.url, reviewer.token()).await;
    browser.wait_text("table", "ses-welcome-email@1.0.0").await;
    browser.click("a[href^='#/marketplace/submissions/']").await;
    browser.find("[aria-label=Decision]").await;
    browser.select("#f-decision", "approve").await;
    let warnings = browser
        .script(
            "return document.querySelectorAll('[data-testid=report] tr').length",
            vec![],
        )
        .await;
    if warnings != json!(0) {
        browser.click("#ack").await;
    }
    browser
        .screenshot(shots.as_deref(), "dashboard-review")
        .await;
    browser.button("Send decision").await;
    browser.wait_text(".page-head", "published").await;
    sign_out(&browser).await;

    // A tenant installs it; a missing value is named on its field.
    sign_in(&browser, &proxy.url, tenant.token()).await;
    browser.route("#/marketplace").await;
    browser
        .wait_text("[data-testid=catalog]", "Welcome email")
        .await;
    browser
        .click("a[href='#/marketplace/ses-welcome-email']")
        .await;
    browser.find("#f-secrets-AWS_SES_KEY").await;
    browser
        .fill("#f-secrets-AWS_SES_KEY", "AKIAIOSFODNN7EXAMPLE")
        .await;
    browser.fill("#f-secrets-AWS_SES_SECRET", AWS_SECRET).await;
    browser
        .fill(
            "#f-configuration-FROM_ADDRESS",
            "welcome@yourdomain.example",
        )
        .await;
    browser
        .screenshot(shots.as_deref(), "dashboard-install")
        .await;
    browser.button("Install").await;
    let error = browser
        .wait_text("[data-error-for='configuration.TO_ADDRESS']", "TO_ADDRESS")
        .await;
    assert!(error.starts_with("configuration.TO_ADDRESS"), "{error}");
    let invalid = browser
        .script(
            "return document.querySelector('#f-configuration-TO_ADDRESS').getAttribute('aria-invalid')",
            vec![],
        )
        .await;
    assert_eq!(invalid, json!("true"));
    browser
        .fill("#f-configuration-TO_ADDRESS", "owner@yourdomain.example")
        .await;
    browser
        .fill("#f-configuration-AWS_REGION", "eu-west-1")
        .await;
    browser.select("#f-bind", "post-user-registration").await;
    browser.button("Install").await;
    browser
        .wait_text("[data-testid=installed]", "ses-welcome-email")
        .await;
    let flow = tenant
        .get("/v1/triggers/post-user-registration/bindings")
        .await
        .1;
    assert_eq!(flow["bindings"].as_array().unwrap().len(), 1, "{flow}");

    // The partner publishes 2.0.0, with a new required value; the tenant upgrades from the
    // installed integrations: refused naming that value's field, then done with it.
    let v2 = variant(
        |m| {
            m["version"] = json!("2.0.0");
            m["configuration"].as_array_mut().unwrap().push(json!({
                "name": "REPLY_TO", "label": "Reply to", "required": true, "type": "string"}));
        },
        |c| {
            c.replace(
                "to: event.configuration.TO_ADDRESS,",
                "to: event.configuration.TO_ADDRESS, replyTo: event.configuration.REPLY_TO,",
            )
        },
    );
    publish(&partner, &reviewer, &v2).await;
    browser.route("#/").await;
    browser.route("#/marketplace/installed").await;
    browser
        .wait_text("[data-testid=installed]", "1 other version")
        .await;
    browser.button("Upgrade / configure").await;
    browser.select("#f-version", "2.0.0").await;
    browser.button("Apply").await;
    let error = browser
        .wait_text("[data-error-for='configuration.REPLY_TO']", "REPLY_TO")
        .await;
    assert!(error.starts_with("configuration.REPLY_TO"), "{error}");
    browser
        .fill("#f-configuration-REPLY_TO", "support@yourdomain.example")
        .await;
    browser.button("Apply").await;
    browser.wait_text("[data-testid=installed]", "v2.0.0").await;
    let (_, installed) = tenant.get("/v1/integrations/installed").await;
    let copy = &installed["installed"][0];
    assert_eq!(
        (copy["version"].as_str(), copy["running_version"].as_str()),
        (Some("2.0.0"), Some("2.0.0")),
        "{installed}"
    );
    assert_eq!(
        copy["configuration"]["REPLY_TO"], "support@yourdomain.example",
        "{installed}"
    );
    // The values not changed are kept, a default never overwrites one the tenant chose.
    assert_eq!(
        (
            copy["configuration"]["FROM_ADDRESS"].as_str(),
            copy["configuration"]["AWS_REGION"].as_str()
        ),
        (Some("welcome@yourdomain.example"), Some("eu-west-1")),
        "{installed}"
    );
    let action = copy["action_id"].as_str().unwrap();
    let (_, versions) = tenant.get(&format!("/v1/actions/{action}/versions")).await;
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        2,
        "the upgrade is a new action version: {versions}"
    );

    assert!(!browser.html().await.contains(AWS_SECRET));
    assert!(!proxy.bodies().contains(AWS_SECRET));
    browser.close().await;
}
