//! Every class of bad input gets the right status, a stable code and the field at fault; a 5xx
//! carries no internal text.

use reqwest::Method;
use serde_json::json;

use crate::support::{assert_error, Db, Server};

const CODE: &str = "exports.onExecutePostLogin = async (event, api) => {};";

async fn bad_bodies_and_queries(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let ok = json!({"name": "a", "supported_triggers": [{"id": "post-login"}], "code": CODE});
    let (status, action) = api.post("/v1/actions", ok.clone()).await;
    assert_eq!(status, 201);
    let id = action["id"].as_str().unwrap();

    // 400: syntax, types, missing and unknown fields (nested ones by path).
    let raw = api
        .raw(Method::POST, "/v1/actions")
        .header("content-type", "application/json");
    assert_error(
        &api.finish(raw.body("{\"name\": ")).await,
        400,
        "invalid_request",
        "body",
    );
    assert_error(
        &api.post("/v1/actions", json!({"name": 5, "supported_triggers": []}))
            .await,
        400,
        "invalid_request",
        "name",
    );
    assert_error(
        &api.post("/v1/actions", json!({"supported_triggers": []}))
            .await,
        400,
        "invalid_request",
        "name",
    );
    assert_error(
        &api.post(
            "/v1/actions",
            json!({"name": "x", "supported_triggers": [], "bogus": 1}),
        )
        .await,
        400,
        "unknown_field",
        "bogus",
    );
    assert_error(
        &api.post(
            "/v1/actions",
            json!({"name": "x", "supported_triggers": [{"id": "post-login", "vers": "v3"}]}),
        )
        .await,
        400,
        "unknown_field",
        "supported_triggers[0].vers",
    );
    assert_error(
        &api.patch(
            &format!("/v1/actions/{id}"),
            json!({"secrets": [{"name": "A", "value": "v", "x": 1}]}),
        )
        .await,
        400,
        "unknown_field",
        "secrets[0].x",
    );
    // 415: not declared as JSON.
    let plain = api
        .raw(Method::POST, "/v1/actions")
        .header("content-type", "text/plain")
        .body(ok.to_string());
    assert_error(
        &api.finish(plain).await,
        415,
        "unsupported_media_type",
        "content-type",
    );
    // 413: the body over the server's limit; the code over 100 KB.
    let huge = json!({"name": "x", "supported_triggers": [{"id": "post-login"}], "code": "x".repeat(600 * 1024)});
    assert_error(
        &api.post("/v1/actions", huge).await,
        413,
        "payload_too_large",
        "body",
    );
    let big_code = format!("{CODE}//{}", "x".repeat(100 * 1024));
    let big = json!({"name": "x", "supported_triggers": [{"id": "post-login"}], "code": big_code});
    assert_error(
        &api.post("/v1/actions", big).await,
        413,
        "payload_too_large",
        "code",
    );
    // 422: well-formed values that are not acceptable.
    let with = |field: &str, value: serde_json::Value| {
        let mut body = ok.clone();
        body["name"] = json!("fresh");
        body[field] = value;
        body
    };
    assert_error(
        &api.post(
            "/v1/actions",
            with("supported_triggers", json!([{"id": "post-lunch"}])),
        )
        .await,
        422,
        "invalid_value",
        "supported_triggers[0].id",
    );
    assert_error(
        &api.post(
            "/v1/actions",
            with(
                "supported_triggers",
                json!([{"id": "post-login", "version": "v1"}]),
            ),
        )
        .await,
        422,
        "invalid_value",
        "supported_triggers[0].version",
    );
    assert_error(
        &api.post("/v1/actions", with("supported_triggers", json!([])))
            .await,
        422,
        "invalid_value",
        "supported_triggers",
    );
    assert_error(
        &api.post("/v1/actions", with("name", json!(" "))).await,
        422,
        "invalid_value",
        "name",
    );
    assert_error(
        &api.post("/v1/actions", with("name", json!("n".repeat(129))))
            .await,
        422,
        "invalid_value",
        "name",
    );
    assert_error(
        &api.post("/v1/actions", with("runtime", json!("python3")))
            .await,
        422,
        "invalid_value",
        "runtime",
    );
    assert_error(
        &api.post(
            "/v1/actions",
            with(
                "dependencies",
                json!([{"name": "lodash", "version": "not a range!"}]),
            ),
        )
        .await,
        422,
        "invalid_value",
        "dependencies[0]",
    );
    assert_error(
        &api.post(
            "/v1/actions",
            with("dependencies", json!([{"name": "../evil", "version": "1"}])),
        )
        .await,
        422,
        "invalid_value",
        "dependencies[0]",
    );
    assert_error(
        &api.post(&format!("/v1/actions/{id}/test"), json!({"event": [1]}))
            .await,
        422,
        "invalid_value",
        "event",
    );
    assert_error(
        &api.post(
            &format!("/v1/actions/{id}/test"),
            json!({"trigger_id": "post-user-registration"}),
        )
        .await,
        422,
        "invalid_value",
        "trigger_id",
    );
    // 409: the name is taken.
    assert_error(
        &api.post("/v1/actions", ok.clone()).await,
        409,
        "conflict",
        "name",
    );
    // Queries and paths.
    assert_error(
        &api.get("/v1/actions?per_page=0").await,
        422,
        "invalid_value",
        "per_page",
    );
    assert_error(
        &api.get("/v1/actions?per_page=many").await,
        400,
        "invalid_request",
        "per_page",
    );
    assert_error(
        &api.get("/v1/actions?deployed=maybe").await,
        400,
        "invalid_request",
        "deployed",
    );
    assert_error(
        &api.get("/v1/actions?colour=red").await,
        400,
        "unknown_field",
        "colour",
    );
    assert_error(
        &api.get(&format!("/v1/actions/{id}/versions/first")).await,
        400,
        "invalid_request",
        "number",
    );
    assert_error(
        &api.get(&format!("/v1/actions/{id}/versions/7")).await,
        404,
        "not_found",
        "version",
    );
    assert_error(
        &api.get(&format!("/v1/actions/{id}/versions/x/diff/1"))
            .await,
        400,
        "invalid_request",
        "from",
    );
    assert_error(
        &api.get("/v1/actions/00000000-0000-0000-0000-000000000000")
            .await,
        404,
        "not_found",
        "id",
    );
    assert_error(&api.get("/v1/nothing-here").await, 404, "not_found", "path");
    assert_error(
        &api.get("/v1/actions/%FF%FE").await,
        400,
        "invalid_request",
        "path",
    );
    assert_error(
        &api.send(Method::PUT, "/v1/actions", None).await,
        405,
        "method_not_allowed",
        "method",
    );
    // Nothing stored was lost or changed by all of that.
    let (_, list) = api.get("/v1/actions").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["actions"][0]["code"], CODE);
}

/// A sealed secret that does not open (its stored ciphertext was damaged behind the server's back)
/// is a 500 with a generic message: no internal text, no secret name, no value.
async fn internal_errors_do_not_leak(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (tenant_id, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let body = json!({"name": "a", "supported_triggers": [{"id": "post-login"}], "code": CODE,
        "secrets": [{"name": "DB_PASSWORD", "value": "correct horse"}]});
    let (status, action) = api.post("/v1/actions", body).await;
    assert_eq!(status, 201);
    let id = action["id"].as_str().unwrap().to_owned();
    let (status, run) = api.post(&format!("/v1/actions/{id}/test"), json!({})).await;
    assert_eq!(status, 200, "{run}");

    // Flip one bit of the stored ciphertext, in the database the server uses.
    let store = db.open_store().await;
    let mut sealed = store
        .sealed_secrets(&tenant_id, &id)
        .await
        .unwrap()
        .remove(0);
    sealed.ciphertext[0] ^= 1;
    store
        .put_secret(
            &tenant_id,
            &id,
            &sealed.name,
            &sealed.ciphertext,
            &sealed.nonce,
            30,
        )
        .await
        .unwrap();
    store.close().await;

    let (status, body) = api.post(&format!("/v1/actions/{id}/test"), json!({})).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "internal");
    let text = body.to_string();
    assert!(
        !text.contains("DB_PASSWORD")
            && !text.contains("decrypt")
            && !text.contains("correct horse"),
        "{text}"
    );
    assert_eq!(
        body["error"]["message"],
        "internal error; the server log has the details"
    );
}

/// Names people read refuse control characters and bidirectional controls (display spoofing), for
/// tenants, actions and bindings' display names, and nothing is stored.
async fn names_refuse_control_and_bidi_characters(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let admin = server.admin();
    for name in [
        "nul\u{0}name",
        "evil\u{202E}txt.exe",
        "line\nbreak",
        "\u{2066}isolate",
    ] {
        let refused = admin.post("/v1/tenants", json!({"name": name})).await;
        assert_error(&refused, 422, "invalid_value", "name");
    }
    let (_, tenants) = admin.get("/v1/tenants").await;
    assert_eq!(tenants["total"], 0, "{tenants}");

    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write", "bindings:write"])
        .await;
    let spoof = json!({"name": "invoice\u{202E}fdp.exe", "supported_triggers": [{"id": "post-login"}], "code": CODE});
    assert_error(
        &api.post("/v1/actions", spoof).await,
        422,
        "invalid_value",
        "name",
    );
    let (_, actions) = api.get("/v1/actions").await;
    assert_eq!(actions["total"], 0, "{actions}");

    let ok = json!({"name": "a", "supported_triggers": [{"id": "post-login"}], "code": CODE});
    let (_, action) = api.post("/v1/actions", ok).await;
    let id = action["id"].as_str().unwrap();
    let patch = api
        .patch(&format!("/v1/actions/{id}"), json!({"name": "x\u{200F}"}))
        .await;
    assert_error(&patch, 422, "invalid_value", "name");
    let (status, _) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!(status, 201);
    let bindings = json!({"bindings": [{"ref": {"type": "action_id", "value": id}, "display_name": "a\u{202D}b"}]});
    let refused = api
        .patch("/v1/triggers/post-login/bindings", bindings)
        .await;
    assert_error(&refused, 422, "invalid_value", "bindings[0].display_name");
}

/// What the HTTP parser refuses before any handler — a URI over 64 KiB, headers over its buffer, a
/// request line that is not HTTP — is answered in the API's JSON error shape, and the server goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parser_refusals_are_json_errors() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = Db::sqlite();
    let server = Server::in_process(&db, |_| {}).await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let long_uri = format!(
        "GET /v1/actions?x={} HTTP/1.1\r\nhost: a\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let big_headers = format!(
        "GET /v1/actions HTTP/1.1\r\nhost: a\r\nx-big: {}\r\n\r\n",
        "b".repeat(500 * 1024)
    );
    for (request, status, code) in [
        (long_uri, 414, "uri_too_long"),
        (big_headers, 431, "header_fields_too_large"),
        ("NOT HTTP AT ALL\r\n\r\n".to_owned(), 400, "invalid_request"),
    ] {
        let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        // The server may answer and stop reading before it has everything: the request is written
        // beside the read (a failed or unfinished write is fine), and the answer is read up to its
        // declared length, not to the connection's end.
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(request.as_bytes()).await;
            writer
        });
        let mut answer = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut chunk = [0u8; 8192];
        while !complete(&answer) {
            match tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&chunk[..n]),
                Ok(_) => break,
                Err(_) => panic!(
                    "no complete answer in 20 s: {:?}",
                    String::from_utf8_lossy(&answer)
                ),
            }
        }
        writing.abort();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        let body: serde_json::Value =
            serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    let (status, _) = server.admin().get("/v1/tenants").await;
    assert_eq!(status, 200);
}

/// Whether `answer` holds a whole HTTP response: its head and `content-length` bytes of body.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    body.len() >= length
}

on_both_backends!(
    bad_bodies_and_queries,
    internal_errors_do_not_leak,
    names_refuse_control_and_bidi_characters
);
