//! The dashboard's session over HTTP, on both backends: a token for an HttpOnly, SameSite=Strict
//! cookie; writes with the cookie need the session's CSRF token (on the Extend API too, whose
//! extensions never see the cookie); revoking the token ends the session; signing out ends it;
//! the page is served with a strict CSP and no inline script.

use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, SET_COOKIE};
use reqwest::Method;
use serde_json::{json, Value};

use crate::journey::SCOPES;
use crate::support::{assert_error, Db, Server, ADMIN_TOKEN};

/// A browser-like client: the session cookie and, for writes, the CSRF token; no bearer token.
#[derive(Clone)]
struct Cookie {
    base: String,
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

impl Cookie {
    async fn sign_in(base: &str, token: &str) -> (Cookie, Value) {
        let http = reqwest::Client::new();
        let answer = http
            .post(format!("{base}/v1/session"))
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        let set = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attribute), "{set}");
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        let body: Value = answer.json().await.unwrap();
        assert!(
            !body.to_string().contains(token),
            "the answer repeats the token"
        );
        let csrf = body["csrf_token"].as_str().unwrap().to_owned();
        let session = Cookie {
            base: base.to_owned(),
            cookie,
            csrf,
            http,
        };
        (session, body)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie);
        if csrf {
            request = request.header("x-csrf-token", &self.csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn sessions(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (tenant_id, api) = server.tenant("acme", SCOPES).await;
    let http = reqwest::Client::new();

    // A wrong token names the field; nothing is set.
    let answer = http
        .post(format!("{}/v1/session", server.url))
        .json(&json!({"token": "af_nope"}))
        .send()
        .await
        .unwrap();
    assert!(answer.headers().get(SET_COOKIE).is_none());
    let got = (
        answer.status().as_u16(),
        answer.json::<Value>().await.unwrap(),
    );
    assert_error(&got, 401, "unauthorized", "token");

    let (session, body) = Cookie::sign_in(&server.url, api.token()).await;
    assert_eq!(body["kind"], json!("tenant"));
    assert_eq!(body["tenant_id"], json!(tenant_id));
    assert_eq!(body["tenant_name"], json!("acme"));
    let (status, me) = session.send(Method::GET, "/v1/session", None, false).await;
    assert_eq!((status, &me["csrf_token"]), (200, &json!(session.csrf)));

    // Reads need only the cookie; writes also the CSRF token.
    assert_eq!(
        session
            .send(Method::GET, "/v1/actions", None, false)
            .await
            .0,
        200
    );
    let create = json!({"name": "a", "supported_triggers": [{"id": "post-login"}],
                        "code": "exports.onExecutePostLogin = async () => {};"});
    let refused = session
        .send(Method::POST, "/v1/actions", Some(create.clone()), false)
        .await;
    assert_error(&refused, 403, "forbidden", "x-csrf-token");
    let forged = Cookie {
        csrf: "0".repeat(64),
        ..session.clone()
    };
    let refused = forged
        .send(Method::POST, "/v1/actions", Some(create.clone()), true)
        .await;
    assert_error(&refused, 403, "forbidden", "x-csrf-token");
    let (status, made) = session
        .send(Method::POST, "/v1/actions", Some(create), true)
        .await;
    assert_eq!(status, 201, "{made}");
    // A tenant's session cannot do the admin's work.
    let (status, _) = session.send(Method::GET, "/v1/tenants", None, false).await;
    assert_eq!(status, 403);

    // Revoking the token ends its sessions at once.
    let tokens = server
        .admin()
        .get(&format!("/v1/tenants/{tenant_id}/tokens"))
        .await
        .1;
    let token_id = tokens[0]["id"].as_str().unwrap();
    let (status, _) = server
        .admin()
        .delete(&format!("/v1/tenants/{tenant_id}/tokens/{token_id}"))
        .await;
    assert_eq!(status, 200);
    let ended = session.send(Method::GET, "/v1/actions", None, false).await;
    assert_error(&ended, 401, "unauthorized", "session");

    // The admin's session manages tenants, and signing out ends it.
    let (admin, body) = Cookie::sign_in(&server.url, ADMIN_TOKEN).await;
    assert_eq!(body["kind"], json!("admin"));
    assert_eq!(
        admin.send(Method::GET, "/v1/tenants", None, false).await.0,
        200
    );
    let (status, _) = admin
        .send(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "globex"})),
            true,
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        admin.send(Method::GET, "/v1/actions", None, false).await.0,
        403
    );
    let refused = admin.send(Method::DELETE, "/v1/session", None, false).await;
    assert_error(&refused, 403, "forbidden", "x-csrf-token");
    assert_eq!(
        admin
            .send(Method::DELETE, "/v1/session", None, true)
            .await
            .0,
        204
    );
    let ended = admin.send(Method::GET, "/v1/tenants", None, false).await;
    assert_error(&ended, 401, "unauthorized", "session");

    // Behind a TLS proxy the cookie is `Secure`.
    let answer = http
        .post(format!("{}/v1/session", server.url))
        .header("x-forwarded-proto", "https")
        .json(&json!({"token": ADMIN_TOKEN}))
        .send()
        .await
        .unwrap();
    let set = answer.headers()[SET_COOKIE].to_str().unwrap();
    assert!(set.ends_with("; Secure"), "{set}");

    // The revoked token itself is refused as before.
    assert_eq!(api.get("/v1/actions").await.0, 401);
}

/// The Extend API takes the session as `/v1` does: reads with the cookie, writes with its CSRF
/// token too; and the session cookie never reaches an extension's code.
async fn sessions_reach_the_extend_api(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (_, api) = server
        .tenant("acme", &["webtasks:read", "webtasks:write"])
        .await;
    let (session, _) = Cookie::sign_in(&server.url, api.token()).await;
    let echo = json!({"code": "module.exports = function (ctx, cb) { cb(null, {cookie: ctx.headers.cookie || null}); };",
                      "secrets": {"KEY": "v"}});
    let refused = session
        .send(
            Method::PUT,
            "/api/webtask/c1/echo",
            Some(echo.clone()),
            false,
        )
        .await;
    assert_error(&refused, 403, "forbidden", "x-csrf-token");
    let (status, made) = session
        .send(Method::PUT, "/api/webtask/c1/echo", Some(echo), true)
        .await;
    assert_eq!(status, 200, "{made}");
    let change = json!({"meta": {"kind": "echo"}});
    let refused = session
        .send(
            Method::PATCH,
            "/api/webtask/c1/echo",
            Some(change.clone()),
            false,
        )
        .await;
    assert_error(&refused, 403, "forbidden", "x-csrf-token");
    let (status, changed) = session
        .send(Method::PATCH, "/api/webtask/c1/echo", Some(change), true)
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["secret_names"], json!(["KEY"]), "{changed}");
    let (status, listed) = session.send(Method::GET, "/api/webtask", None, false).await;
    assert_eq!((status, listed[0]["name"].as_str()), (200, Some("echo")));
    let refused = session
        .send(
            Method::PUT,
            "/api/cron/c1/echo",
            Some(json!({"schedule": "0 0 1 1 *"})),
            false,
        )
        .await;
    assert_error(&refused, 403, "forbidden", "x-csrf-token");

    // A browser signed in to the dashboard sends its cookie to `/run/…` too: the extension gets
    // the other cookies only.
    let run = |cookie: &'static str| {
        reqwest::Client::new()
            .get(format!("{}/run/c1/echo", server.url))
            .header(COOKIE, cookie)
            .send()
    };
    let seen: Value = run("theme=dark; af_session=af_not_yours")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen, json!({"cookie": "theme=dark"}));
    let seen: Value = run("af_session=af_not_yours")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen, json!({"cookie": null}));
}

on_both_backends!(sessions, sessions_reach_the_extend_api);

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_and_no_inline_script() {
    let db = Db::sqlite();
    let server = Server::in_process(&db, |_| {}).await;
    let answer = reqwest::get(format!("{}/", server.url)).await.unwrap();
    assert_eq!(answer.status(), 200);
    let policy = answer.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    let html = answer.text().await.unwrap();
    assert!(
        html.contains("<script type=\"module\" src=\"/assets/main-"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    let script = html
        .split('"')
        .find(|s| s.starts_with("/assets/main-"))
        .unwrap();
    let answer = reqwest::get(format!("{}{script}", server.url))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let missing = reqwest::get(format!("{}/assets/nope.js", server.url))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
