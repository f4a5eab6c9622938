//! The programming models and their answers, the shared secret example, the generic compiler and
//! the bearer middleware, over HTTP on one server.

use super::{code, put, run, server, SCOPES};
use crate::support::{assert_error, Db};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_model_answers_as_on_webtasks() {
    let db = Db::sqlite();
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let c = "acme-wt";

    put(
        &api,
        c,
        "cb",
        code("module.exports = function (cb) { cb(null, { hello: 'world' }); };"),
    )
    .await;
    let a = run(&server, Method::GET, &format!("{c}/cb"), &[], None).await;
    assert_eq!(
        (a.status, a.source.as_str()),
        (200, "webtask"),
        "{}",
        a.body
    );
    assert_eq!(a.json(), json!({"hello": "world"}));
    assert!(a.content_type.starts_with("application/json"));

    put(&api, c, "ctx", code(
        "module.exports = function (ctx, cb) { cb(null, { query: ctx.query, body: ctx.body, \
         agent: ctx.headers['x-agent'], id: typeof ctx.id, secrets: Object.keys(ctx.secrets) }); };",
    )).await;
    let a = run(
        &server,
        Method::POST,
        &format!("{c}/ctx?a=1&webtask_no_cache=1"),
        &[("X-Agent", "t")],
        Some(("application/json", r#"{"n": 2}"#.to_owned())),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.json(),
        json!({"query": {"a": "1"}, "body": {"n": 2}, "agent": "t", "id": "string", "secrets": []})
    );
    let a = run(
        &server,
        Method::PUT,
        &format!("{c}/ctx/more/path"),
        &[],
        Some(("application/x-www-form-urlencoded", "x=1&y=two".to_owned())),
    )
    .await;
    assert_eq!(
        a.json()["body"],
        json!({"x": "1", "y": "two"}),
        "{}",
        a.body
    );

    put(&api, c, "raw", code(
        "module.exports = function (ctx, req, res) { let body = ''; req.on('data', (d) => body += d); \
         req.on('end', () => { res.writeHead(201, { 'Content-Type': 'text/plain', 'X-Echo': req.method }); \
         res.end('got ' + body + ' at ' + req.url); }); };",
    )).await;
    let a = run(
        &server,
        Method::PATCH,
        &format!("{c}/raw/x?q=1"),
        &[],
        Some(("text/plain", "abc".to_owned())),
    )
    .await;
    assert_eq!(
        (a.status, a.body.as_str(), a.content_type.as_str()),
        (201, "got abc at /x?q=1", "text/plain")
    );

    put(
        &api,
        c,
        "async",
        code("module.exports = async (ctx) => ({ async: ctx.query.v });"),
    )
    .await;
    let a = run(&server, Method::GET, &format!("{c}/async?v=yes"), &[], None).await;
    assert_eq!(a.json(), json!({"async": "yes"}), "{}", a.body);
    put(
        &api,
        c,
        "empty",
        code("module.exports = async (ctx) => { await null; };"),
    )
    .await;
    assert_eq!(
        run(&server, Method::GET, &format!("{c}/empty"), &[], None)
            .await
            .json(),
        json!({})
    );

    put(
        &api,
        c,
        "esm",
        code(
            "const answer = 42;\nexport default async function (ctx) { return { esm: answer }; }\n",
        ),
    )
    .await;
    let a = run(&server, Method::GET, &format!("{c}/esm"), &[], None).await;
    assert_eq!(a.json(), json!({"esm": 42}), "{}", a.body);

    // cb(err): 400 with the error, or the error's statusCode.
    put(&api, c, "err", code(
        "module.exports = function (ctx, cb) { const e = new Error('nope'); if (ctx.query.s) e.statusCode = Number(ctx.query.s); cb(e); };",
    )).await;
    let a = run(&server, Method::GET, &format!("{c}/err"), &[], None).await;
    assert_eq!((a.status, a.source.as_str()), (400, "webtask"));
    let body = a.json();
    assert_eq!(
        (
            body["code"].clone(),
            body["error"].clone(),
            body["message"].clone()
        ),
        (
            json!(400),
            json!("Script returned an error."),
            json!("nope")
        )
    );
    assert_eq!(body["details"], "Error: nope");
    assert_eq!(
        run(&server, Method::GET, &format!("{c}/err?s=418"), &[], None)
            .await
            .status,
        418
    );

    // Throws: synchronous and asynchronous, 500 saying so.
    put(
        &api,
        c,
        "sync-throw",
        code("module.exports = function (ctx, cb) { throw new Error('boom'); };"),
    )
    .await;
    let a = run(&server, Method::GET, &format!("{c}/sync-throw"), &[], None).await;
    assert_eq!(a.status, 500);
    assert!(
        a.json()["error"].as_str().unwrap().contains("synchronous"),
        "{}",
        a.body
    );
    put(&api, c, "async-throw", code(
        "module.exports = function (ctx, cb) { setTimeout(() => { throw new Error('later'); }, 1); };",
    )).await;
    let a = run(&server, Method::GET, &format!("{c}/async-throw"), &[], None).await;
    assert_eq!(a.status, 500, "{}", a.body);
    assert!(a.body.contains("asynchronous"), "{}", a.body);

    // Code that does not compile, and functions of other arities: 400 from the compiler.
    put(
        &api,
        c,
        "syntax",
        code("module.exports = function (ctx, cb) { cb(null, ; };"),
    )
    .await;
    let a = run(&server, Method::GET, &format!("{c}/syntax"), &[], None).await;
    assert_eq!(
        (a.status, a.source.as_str()),
        (400, "compiler"),
        "{}",
        a.body
    );
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("Compilation failed"),
        "{}",
        a.body
    );
    put(
        &api,
        c,
        "arity",
        code("module.exports = function (a, b, c, d) {};"),
    )
    .await;
    let a = run(&server, Method::GET, &format!("{c}/arity"), &[], None).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("function (ctx, cb)"), "{}", a.body);

    // Unknown extensions: 404 from the platform.
    let a = run(&server, Method::GET, &format!("{c}/none"), &[], None).await;
    assert_eq!((a.status, a.source.as_str()), (404, "proxy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_secret_example_in_both_models() {
    let db = Db::sqlite();
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let secrets = json!({"auth-secret": "open-sesame"});
    put(&api, "acme", "cb", json!({"secrets": secrets, "code":
        "module.exports = function(context, cb) {\n  if (context.query.secret !== context.secrets['auth-secret']) {\n    cb(new Error('Not Authorized'));\n  } else {\n    cb(null, { question: 'Am I secure?', answer: 'Yes!' });\n  }\n};"})).await;
    put(&api, "acme", "raw", json!({"secrets": secrets, "code":
        "module.exports = function(context, request, response) {\n  if (context.query.secret !== context.secrets['auth-secret']) {\n    response.writeHead(403);\n    response.end();\n  } else {\n    response.writeHead(200, { 'Content-Type': 'application/json' });\n    response.end(JSON.stringify({ question: 'Am I secure?', answer: 'Yes!' }));\n  }\n};"})).await;
    let yes = json!({"question": "Am I secure?", "answer": "Yes!"});
    let a = run(
        &server,
        Method::GET,
        "acme/cb?secret=open-sesame",
        &[],
        None,
    )
    .await;
    assert_eq!((a.status, a.json()), (200, yes.clone()));
    let a = run(&server, Method::GET, "acme/cb?secret=wrong-key", &[], None).await;
    assert_eq!(
        (a.status, a.json()["message"].clone()),
        (400, json!("Not Authorized"))
    );
    let a = run(
        &server,
        Method::GET,
        "acme/raw?secret=open-sesame",
        &[],
        None,
    )
    .await;
    assert_eq!((a.status, a.json()), (200, yes));
    let a = run(&server, Method::GET, "acme/raw?secret=wrong-key", &[], None).await;
    assert_eq!((a.status, a.body.as_str()), (403, ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compilers_and_middleware_chosen_by_metadata() {
    let db = Db::sqlite();
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let secret = "9f3c0a7d2b5e4f6a8c1d3e5f7a9b0c2d";
    put(&api, "acme", "generic", json!({
        "code": "module.exports = function (ctx, cb) { cb(null, { lead: ctx.body.name }); };",
        "secrets": {"auth0-extension-secret": secret},
        "meta": {"auth0-extension-secret": secret, "wt-compiler": "auth0-ext-compilers/generic"},
    })).await;
    let body = Some(("application/json", r#"{"name": "Ada"}"#.to_owned()));
    let right = format!("Bearer {secret}");
    let a = run(
        &server,
        Method::POST,
        "acme/generic",
        &[("authorization", &right)],
        body.clone(),
    )
    .await;
    assert_eq!(
        (a.status, a.source.as_str()),
        (200, "compiler"),
        "{}",
        a.body
    );
    assert_eq!(
        a.json(),
        json!({"statusCode": 200, "headers": {}, "status": "success", "data": {"lead": "Ada"}})
    );
    for wrong in [Some("Bearer nope"), Some(&right[1..]), None] {
        let headers: Vec<(&str, &str)> = wrong.iter().map(|w| ("authorization", *w)).collect();
        let a = run(
            &server,
            Method::POST,
            "acme/generic",
            &headers,
            body.clone(),
        )
        .await;
        assert_eq!(
            (a.status, a.source.as_str()),
            (401, "compiler"),
            "{wrong:?}: {}",
            a.body
        );
        assert_eq!(a.json()["status"], "error");
    }

    put(
        &api,
        "acme",
        "mw",
        json!({
            "code": "module.exports = function (cb) { cb(null, { ok: true }); };",
            "secrets": {"wt-auth-secret": "s3"},
            "meta": {"wt-middleware": "@webtask/bearer-auth-middleware"},
        }),
    )
    .await;
    assert_eq!(
        run(&server, Method::GET, "acme/mw", &[], None).await.status,
        401
    );
    let a = run(
        &server,
        Method::GET,
        "acme/mw",
        &[("authorization", "Bearer s3")],
        None,
    )
    .await;
    assert_eq!((a.status, a.json()), (200, json!({"ok": true})));

    let refused = api
        .put(
            "/api/webtask/acme/bad",
            json!({"code": "module.exports = (cb) => cb();",
        "meta": {"wt-compiler": "webtask-tools/express"}}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "meta.wt-compiler");
    let refused = api
        .put(
            "/api/webtask/acme/bad",
            json!({"code": "module.exports = (cb) => cb();",
        "meta": {"wt-middleware": "@webtask/nope"}}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "meta.wt-middleware");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_extensions_in_its_sandboxes() {
    let db = Db::sqlite();
    // The default network policy: the storage URL on loopback is the one private address let through.
    let server = crate::support::Server::start_with(&db, crate::support::Start::default()).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    put(&api, "acme", "count", code(
        "module.exports = function (ctx, cb) { ctx.storage.get(function (e, d) { if (e) return cb(e); \
         d = d || { n: 0 }; d.n += 1; ctx.storage.set(d, function (e) { cb(e, d); }); }); };",
    )).await;
    for n in 1..=2 {
        let a = run(&server, Method::POST, "acme/count", &[], None).await;
        assert_eq!((a.status, a.json()), (200, json!({"n": n})), "{}", a.body);
    }
    let (status, data) = api.get("/api/webtask/acme/count/data").await;
    assert_eq!((status, data["data"].as_str()), (200, Some("{\"n\":2}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_are_locked_when_saved() {
    let mut registry = crate::support::registry::Registry::default();
    registry
        .publish("greet", "1.0.0", "module.exports = (n) => 'hello ' + n;")
        .publish("greet", "2.0.0", "module.exports = (n) => 'HELLO ' + n;");
    let registry = registry.serve().await;
    let db = Db::sqlite();
    let url = registry.url.clone();
    let server = crate::support::Server::in_process(&db, move |s| {
        s.npm_discovery.registry_flag = Some(url);
    })
    .await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let code = "const greet = require('greet');\nmodule.exports = function (ctx, cb) { cb(null, { text: greet(ctx.query.n) }); };";
    let saved = put(
        &api,
        "acme",
        "field",
        json!({"code": code, "dependencies": {"greet": "^1.0.0"}}),
    )
    .await;
    assert_eq!(saved["dependencies"], json!({"greet": "^1.0.0"}));
    let a = run(&server, Method::GET, "acme/field?n=ada", &[], None).await;
    assert_eq!(a.json(), json!({"text": "hello ada"}), "{}", a.body);
    // From the metadata, as Extend's editor writes it.
    put(
        &api,
        "acme",
        "meta",
        json!({"code": code, "meta": {"wt-node-dependencies": "{\"greet\": \"2.0.0\"}"}}),
    )
    .await;
    let a = run(&server, Method::GET, "acme/meta?n=ada", &[], None).await;
    assert_eq!(a.json(), json!({"text": "HELLO ada"}), "{}", a.body);
    let refused = api
        .put(
            "/api/webtask/acme/bad",
            json!({"code": code, "dependencies": {"greet": "^9"}}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "dependencies");
    let refused = api
        .put(
            "/api/webtask/acme/bad",
            json!({"code": code, "meta": {"wt-node-dependencies": "not json"}}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "meta.wt-node-dependencies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_on_code_and_bodies() {
    let db = Db::sqlite();
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let big = format!(
        "module.exports = (cb) => cb(null, {{}}); // {}",
        "x".repeat(100 * 1024)
    );
    assert_error(
        &api.put("/api/webtask/acme/big", code(&big)).await,
        413,
        "payload_too_large",
        "code",
    );
    assert_error(
        &api.put(
            "/api/webtask/acme/Bad%20Name",
            code("module.exports = (cb) => cb();"),
        )
        .await,
        422,
        "invalid_value",
        "name",
    );
    put(&api, "acme", "echo", code(
        "module.exports = function (ctx, cb) { cb(null, { size: JSON.stringify(ctx.body || {}).length, big: 'y'.repeat(Number(ctx.query.out || 0)) }); };",
    )).await;
    let body = format!("{{\"k\": \"{}\"}}", "z".repeat(900 * 1024));
    let a = run(
        &server,
        Method::POST,
        "acme/echo",
        &[],
        Some(("application/json", body)),
    )
    .await;
    assert_eq!(a.status, 200, "{}", &a.body[..a.body.len().min(200)]);
    let too_big = "z".repeat(1024 * 1024 + 1);
    let a = run(
        &server,
        Method::POST,
        "acme/echo",
        &[],
        Some(("text/plain", too_big)),
    )
    .await;
    assert_eq!(a.status, 413);
    // An answer past the bound is the platform's 500, not a truncated body.
    let a = run(&server, Method::GET, "acme/echo?out=2000000", &[], None).await;
    assert_eq!(
        (a.status, a.source.as_str()),
        (500, "proxy"),
        "{}",
        &a.body[..a.body.len().min(200)]
    );
}

/// The raw model's headers as Node sends them: a list is one header per value (two cookies stay
/// two `Set-Cookie`s), and the dashboard's session cookie is never set by an extension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_list_is_sent_once_per_value() {
    let db = Db::sqlite();
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    put(
        &api,
        "acme",
        "cookies",
        code(
            "module.exports = function (ctx, req, res) { \
         res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/', 'af_session=stolen']); \
         res.writeHead(204); res.end(); };",
        ),
    )
    .await;
    let response = reqwest::Client::new()
        .get(format!("{}/run/acme/cookies", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);
}
