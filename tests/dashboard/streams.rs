//! The log streams page in a real browser: a new stream's signing secret is shown once and its
//! authorization never comes back; pause and resume; a failing endpoint's last error in the health.

use serde_json::json;

use crate::browser::{chromedriver, Browser, Proxy};
use crate::journey::{screenshots, sign_in};
use crate::support::{Db, Server, Start};

const AUTHORIZATION: &str = "Bearer siem_token_never_shown_0b7e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_manages_its_log_streams_in_a_browser() {
    let Some(driver) = chromedriver() else { return };
    let db = Db::sqlite();
    // The endpoint is this machine's server itself (it answers 404): loopback must be allowed.
    let args = ["--allow-private-network", "true"];
    let server = Server::start_with(
        &db,
        Start {
            args: args.map(String::from).to_vec(),
            ..Start::default()
        },
    )
    .await;
    let scopes = ["log_streams:read", "log_streams:write", "logs:write"];
    let (_, tenant) = server.tenant("acme", &scopes).await;
    let proxy = Proxy::start(&server.url).await;
    let browser = Browser::start(driver).await;

    sign_in(&browser, &proxy.url, tenant.token()).await;
    browser
        .wait_text("[data-testid=streams]", "No stream yet")
        .await;
    browser.fill("#f-name", "siem").await;
    browser
        .fill("#f-sink-endpoint", &format!("{}/hook", server.url))
        .await;
    browser.fill("#f-sink-authorization", AUTHORIZATION).await;
    browser.button("Create stream").await;
    let secret = browser.find("[aria-label='Signing secret']").await;
    let secret = secret.prop("value").await.unwrap().unwrap_or_default();
    assert!(secret.starts_with("whsec_"), "{secret}");
    browser.wait_text("[data-stream=siem]", "active").await;

    // An event to deliver: the endpoint refuses it, and the health says so after a reload.
    let (status, _) = tenant
        .post(
            "/v1/logs",
            json!({"events": [{"type": "s", "user_id": "u1"}]}),
        )
        .await;
    assert!((200..300).contains(&status), "{status}");
    let started = std::time::Instant::now();
    loop {
        browser.route("#/").await;
        browser.route("#/streams").await;
        let text = browser.wait_text("[data-stream=siem]", "siem").await;
        if text.contains("HTTP 404") {
            break;
        }
        assert!(started.elapsed().as_secs() < 30, "no error shown: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    browser
        .screenshot(screenshots().as_deref(), "dashboard-streams")
        .await;

    browser.button("Pause").await;
    browser.wait_text("[data-stream=siem]", "paused").await;
    browser.button("Resume").await;
    browser
        .wait_text("[data-stream=siem] .badge", "active")
        .await;

    assert!(!browser.html().await.contains(AUTHORIZATION));
    assert!(!proxy.bodies().contains(AUTHORIZATION));
    browser.close().await;
}
