//! The tenant log in a real browser: events the host sent, searched with the quick filters and the
//! filter fields (written into the query the API reads, kept in the hash), a bad query named on
//! its field, pages of 50, and one event's detail with its `details`; markup in an event is text.

use serde_json::{json, Value};

use crate::browser::{chromedriver, Browser, Proxy};
use crate::journey::{screenshots, sign_in};
use crate::support::{Db, Server};

const XSS: &str = "<script>alert(1)</script>";

/// The types of the rows shown.
async fn shown_types(browser: &Browser) -> Vec<String> {
    let types = browser
        .script(
            "return [...document.querySelectorAll('[data-testid=logs-table] tbody tr td:nth-child(2) .chip')].map(c => c.textContent)",
            vec![],
        )
        .await;
    serde_json::from_value(types).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_searches_its_log_in_a_browser() {
    let Some(driver) = chromedriver() else { return };
    let db = Db::sqlite();
    let server = Server::in_process(&db, |_| {}).await;
    let (_, acme) = server.tenant("acme", &["logs:read", "logs:write"]).await;
    // 60 logins, then the failures to find among them.
    let logins: Vec<Value> = (0..60)
        .map(|i| json!({"type": "s", "user_id": format!("auth0|{i}"), "ip": "198.51.100.1"}))
        .collect();
    assert_eq!(
        acme.post("/v1/logs", json!({"events": logins})).await.0,
        201
    );
    let failures = json!({"events": [
        {"type": "fp", "user_id": "auth0|42", "user_name": XSS, "ip": "203.0.113.7",
         "connection": "Username-Password-Authentication",
         "details": {"error": {"message": "Wrong email or password."}}},
        {"type": "f", "user_id": "auth0|42", "ip": "203.0.113.7"},
        {"type": "f", "user_id": "auth0|7", "ip": "203.0.113.8"},
        {"type": "x_mfa_enrolled", "level": 1, "user_id": "auth0|42"},
    ]});
    assert_eq!(acme.post("/v1/logs", failures).await.0, 201);
    let proxy = Proxy::start(&server.url).await;
    let browser = Browser::start(driver).await;

    // The log, newest first, 50 to a page.
    sign_in(&browser, &proxy.url, acme.token()).await;
    let total = browser
        .wait_text("[data-testid=log-total]", "1–50 of")
        .await;
    assert_eq!(shown_types(&browser).await[0], "x_mfa_enrolled", "{total}");
    browser.button("Older →").await;
    browser.wait_text("[data-testid=log-total]", "51–").await;
    browser.button("← Newer").await;
    browser.wait_text("[data-testid=log-total]", "1–50").await;

    // A quick filter writes the query; the search keeps it in the hash.
    browser.button("Failed logins").await;
    browser
        .wait_text("[data-testid=log-total]", "1–3 of 3 events")
        .await;
    let query = browser
        .script("return document.querySelector('#f-q').value", vec![])
        .await;
    assert_eq!(query, json!("type:f OR type:fp OR type:fu"));
    assert_eq!(shown_types(&browser).await, ["f", "f", "fp"]);
    let hash = browser.script("return location.hash", vec![]).await;
    assert!(hash.as_str().unwrap().contains("q=type"), "{hash}");
    browser
        .click("[data-testid=logs-table] tbody tr:last-child a")
        .await;
    browser
        .wait_text("[data-testid=log-detail]", "Wrong email or password.")
        .await;
    browser
        .screenshot(screenshots().as_deref(), "dashboard-logs")
        .await;

    // The fields: types and a user, AND-ed into each type's group.
    browser.fill("#f-type", "f x_mfa_enrolled").await;
    browser.fill("#f-user_id", "auth0|42").await;
    let query = browser
        .script("return document.querySelector('#f-q').value", vec![])
        .await;
    assert_eq!(
        query,
        json!(r#"type:f user_id:"auth0|42" OR type:x_mfa_enrolled user_id:"auth0|42""#)
    );
    browser.button("Search").await;
    browser
        .wait_text("[data-testid=log-total]", "of 2 events")
        .await;
    assert_eq!(shown_types(&browser).await, ["x_mfa_enrolled", "f"]);

    // A query the API cannot read is named on its field.
    browser.fill("#f-q", "password:x").await;
    browser.button("Search").await;
    let error = browser
        .wait_text("[data-error-for=q]", "unknown field")
        .await;
    assert!(error.starts_with("q:"), "{error}");

    // One event: every field, its details; markup as text.
    browser.fill("#f-q", "type:fp").await;
    browser.button("Search").await;
    browser
        .wait_text("[data-testid=log-total]", "of 1 event")
        .await;
    browser.click("[data-testid=logs-table] tbody a").await;
    let detail = browser
        .wait_text("[data-testid=log-detail]", "Failed login (wrong password)")
        .await;
    assert!(
        detail.contains(XSS) && detail.contains("203.0.113.7"),
        "{detail}"
    );
    browser
        .wait_text("[data-testid=log-details]", "Wrong email or password.")
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
    // The detail has its own address: reloaded, the same event shows.
    let hash = browser.script("return location.hash", vec![]).await;
    assert!(hash.as_str().unwrap().starts_with("#/logs/"), "{hash}");
    browser.client.refresh().await.unwrap();
    browser
        .wait_text("[data-testid=log-detail]", "Failed login (wrong password)")
        .await;
    assert!(browser.client.get_alert_text().await.is_err());
    browser.close().await;
}
