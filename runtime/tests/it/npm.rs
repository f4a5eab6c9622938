//! Real packages from the npm registry in the user's configuration, installed by the registry crate and
//! called inside an action. Runs when `ACTIONFLOW_TEST_NPM_REGISTRY` is set (CI sets it).

use super::{request, run, runtime};
use actionflow_registry::{Cache, DiscoveryInputs, HttpOptions, HttpSource, ResolveOptions};
use actionflow_runtime::{ExecutionRequest, ModuleFiles, PackageMounts, PoolConfig, Status};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

const ACTION: &str = r#"
const _ = require("lodash");
const ms = require("ms");
const { v4: uuidv4, validate } = require("uuid");
const dayjs = require("dayjs");
const validator = require("validator");
exports.onExecutePostLogin = async (event, api) => {
  const { nanoid } = await import("nanoid");
  const { default: escapeStringRegexp } = await import("escape-string-regexp");
  api.idToken.setCustomClaim("lodash", _.chunk([1, 2, 3, 4, 5], 2));
  api.idToken.setCustomClaim("ms", [ms("2 days"), ms(60000)]);
  api.idToken.setCustomClaim("uuid", validate(uuidv4()));
  api.idToken.setCustomClaim("dayjs", dayjs("2024-02-28").add(1, "day").format("YYYY-MM-DD"));
  api.idToken.setCustomClaim("validator", [validator.isEmail(event.email), validator.isEmail("nope")]);
  api.idToken.setCustomClaim("nanoid", nanoid(10).length);
  api.idToken.setCustomClaim("escape", escapeStringRegexp("a.b*c"));
};
"#;

/// Installs `deps` from the npm registry of the user's configuration into a fresh cache; the files
/// an action with those dependencies sees (the cache folder must outlive them).
async fn install(deps: &[(&str, &str)]) -> (tempfile::TempDir, Arc<dyn ModuleFiles>) {
    let inputs = DiscoveryInputs {
        env: std::env::vars().collect(),
        project_dir: std::env::current_dir().ok(),
        home_dir: std::env::var_os("HOME").map(PathBuf::from),
        ..DiscoveryInputs::default()
    };
    let config = actionflow_registry::discover(&inputs).unwrap();
    let source = HttpSource::new(config, HttpOptions::default()).unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path()).unwrap();
    let deps: BTreeMap<String, String> = deps
        .iter()
        .map(|(n, r)| ((*n).to_owned(), (*r).to_owned()))
        .collect();
    let installed =
        actionflow_registry::install(&source, &cache, &deps, &ResolveOptions::default())
            .await
            .unwrap();
    let mounts = installed
        .tree
        .packages
        .iter()
        .map(|(k, p)| (format!("/{k}"), p.dir.clone()))
        .collect();
    (cache_dir, Arc::new(PackageMounts::new(mounts)))
}

fn registry_reachable() -> bool {
    if std::env::var_os("ACTIONFLOW_TEST_NPM_REGISTRY").is_none() {
        eprintln!("note: set ACTIONFLOW_TEST_NPM_REGISTRY=1 to install real packages from your npm registry");
        return false;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_packages_resolve_and_run_inside_an_action() {
    if !registry_reachable() {
        return;
    }
    let deps = [
        ("lodash", "^4.17.0"),
        ("ms", "^2.1.0"),
        ("uuid", "^9.0.0"),
        ("dayjs", "^1.11.0"),
        ("validator", "^13.0.0"),
        ("nanoid", "^5.0.0"),
        ("escape-string-regexp", "^5.0.0"),
    ];
    let (_cache, files) = install(&deps).await;
    let req = ExecutionRequest {
        files,
        ..request(
            "t",
            "npm",
            ACTION,
            "post-login",
            json!({"email": "ada@example.com"}),
        )
    };
    let outcome = run(&runtime(PoolConfig::default()), req).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
    let claims: BTreeMap<String, serde_json::Value> = outcome
        .api_calls
        .iter()
        .map(|c| (c.args[0].as_str().unwrap().to_owned(), c.args[1].clone()))
        .collect();
    assert_eq!(claims["lodash"], json!([[1, 2], [3, 4], [5]]));
    assert_eq!(claims["ms"], json!([172_800_000, "1m"]));
    assert_eq!(claims["uuid"], json!(true));
    assert_eq!(claims["dayjs"], json!("2024-02-29"));
    assert_eq!(claims["validator"], json!([true, false]));
    assert_eq!(claims["nanoid"], json!(10));
    assert_eq!(claims["escape"], json!("a\\.b\\*c"));
}

/// Packages that lean on Node's built-ins (http, https, stream, crypto, zlib, url, events), as Auth0
/// Actions code uses them, against a local server.
const NODE_PACKAGES: &str = r#"
const axios = require("axios");
const fetch2 = require("node-fetch");
const jwt = require("jsonwebtoken");
const { v4: uuidv4, validate } = require("uuid");
const { IncomingWebhook } = require("@slack/webhook");
const { ManagementClient } = require("auth0");
const crypto = require("crypto");
exports.onExecutePostLogin = async (event) => {
  const base = event.base;
  const a = await axios.get(`${base}/json`, { timeout: 2000 });
  console.log("axios get", a.status, a.headers["content-type"], a.data.name);
  const b = await axios.post(`${base}/echo`, { x: 1 }, { headers: { Authorization: "Bearer ax" } });
  console.log("axios post", b.status, b.headers["x-echo"], b.data);
  try { await axios.get(`${base}/missing`); } catch (e) { console.log("axios error", e.response.status, e.response.data); }
  try { await axios.get(`${base}/slow`, { timeout: 200 }); } catch (e) { console.log("axios timeout", e.code); }
  const c = await fetch2(`${base}/json`);
  console.log("node-fetch", c.status, (await c.json()).roles[0]);
  const privateKey = crypto.createPrivateKey("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCyy6kZ5+In/xOs\nCOm+obZyiSlp6tz9AJLp5jHvCWMxf8OGYOpb9IBE5W77xUlY/40GA8a4uFuKQHXA\nnhhR9OS9zpHjyHEAwufGblJwEMK21JH3c1cRUsNJ9nqhZ9v4rJeWws4kJunVusgq\nu96vj6D5Fa8OsTwMrJ7D1gVWSLVcO7k7HA1UWLsrnbUbeP8V95nmG2nmAG2HAFdo\n739LNVqqk3Wb0NxoY6oqVsK2Ed/3H7ch2mcGOKNS+9Vw3YdjEwhRBsOcEm9+jjJb\nYahdyRVsND5tAgv7rPJVfEZ09m+LgNy1TYF1yil22GKES8X/x+fh4gYHJU09S17h\n95rDnUvRAgMBAAECggEABwIFF5Y8wk7mpqfyjloW1xndTRKmD8N4RciT1+fVkRcO\nET6vi47OLAixc6UqjYgSryIrF1FnbY9M5x/kGc5B+SweSWqxU6GznkeeXa3GDcez\nf2HwVlDDhY6SIZQz8PM3vZ0sE1/l+Wrhtbf5RRUZmWRmr03LaenC1i/c0D7MwsJ7\ngyd/2NxAJuMBMPZi2oEeyyp1EkoACQOVVW9bslfdmkvlqUzi92ED4Re+FD3cnl+b\n5bkE2DDLV83iVTuiJTIcEMXtEz3Y/upcA+ihRLENMT1Dk/hI263y0pV9rsK3v2k1\nD0r3B8rm4iOD57u88q0YTkxiRIxztL29thRM8nWlWwKBgQDbMt0fZDA3YBBz1KW4\nhbLh9Jom2YsnrgJTWAVMS8NukKcwY5hyfCg3saQ2hr3LqO4kp+OYi2MMTA5YqlU/\n41z22ArgZNwPb2NTarvXf3K5PcufaU1wwVSMHixJUIvv5TOrFdOLruClmM4Py6yD\n1EglToxrD4pePUYoOTgJfw6aVwKBgQDQ0EY0W04/BAbr6kyp7i3KANPflctMHR7Y\n1twweDotwBFnVWkawqi3OIxcS0iWhvG2cWP7wS5HY3erZ6ocCrN3uCLi8ybqT9hM\nSme4ipzjDy+jnUNBE9nyUwf2j831fDon9LStfIcmOg26ttd0Vdm41gbu9cMBQ1L5\nvYESerVCFwKBgQDXNxd4bMwScpV0xMJ5a3v48kov/sPsD6Nk5TU+ddzKP+iHUCIr\ntc9e72GFz8GlppU7FEQYUDLNrhcf4w2Ujs2F5xS2wRB3bywciN0pdo7TZeL4/1Dz\ndj5m3HErApSC041pWyK7MNaMgH1BcP5O6Sx0xKyFqVp3sL2jXJqyaDeUPQKBgAdS\nZkPLt9Cp2XxIOOv0eBKPON6sJ/bBRqWf0xS4AoI8K+ANtKPFk5jpGLLbyO3OSYd2\nLmVTfsXuDPIrrmFRVr2p7T87+29X4WO7cCueYKXtkGQSTZtokMnYc30HydcDxh5E\njFlQ9oQ2oOidJKzlnb7HcnLKl03iCHTNWktFljl9AoGAZbpdP9ps0U8btJ6XiScA\ndALDhik9rwjjETFrRL0EEIBWsiXqIjvyNS9zrFp37T0EW2oVsLgPVFHPdz/kNed4\nj1pA0KtCKpFh1O3Vj4+lLhmq2erQIKDudj4iDMaQxh5kw0kYIOoX7oxvWyikqBHW\n8uDv8sX8geMi7og6qpuLeo0=\n-----END PRIVATE KEY-----");
  const publicKey = crypto.createPublicKey("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAssupGefiJ/8TrAjpvqG2\ncokpaerc/QCS6eYx7wljMX/DhmDqW/SAROVu+8VJWP+NBgPGuLhbikB1wJ4YUfTk\nvc6R48hxAMLnxm5ScBDCttSR93NXEVLDSfZ6oWfb+KyXlsLOJCbp1brIKrver4+g\n+RWvDrE8DKyew9YFVki1XDu5OxwNVFi7K521G3j/FfeZ5htp5gBthwBXaO9/SzVa\nqpN1m9DcaGOqKlbCthHf9x+3IdpnBjijUvvVcN2HYxMIUQbDnBJvfo4yW2GoXckV\nbDQ+bQIL+6zyVXxGdPZvi4DctU2BdcopdthihEvF/8fn4eIGByVNPUte4feaw51L\n0QIDAQAB\n-----END PUBLIC KEY-----");
  const rs = jwt.sign({ sub: "u1" }, privateKey, { algorithm: "RS256", expiresIn: 60 });
  console.log("jwt RS256", jwt.verify(rs, publicKey, { algorithms: ["RS256"] }).sub);
  const hs = jwt.sign({ sub: "u2" }, "s3cret");
  console.log("jwt HS256", jwt.verify(hs, "s3cret").sub);
  try { jwt.verify(hs, "wrong"); } catch (e) { console.log("jwt refused", e.message); }
  const jose = require("jose");
  const jwk = await jose.exportJWK(publicKey);
  const { payload } = await jose.jwtVerify(rs, await jose.importJWK({ ...jwk, alg: "RS256" }, "RS256"));
  console.log("jose", payload.sub);
  console.log("uuid", validate(uuidv4()));
  const hook = new IncomingWebhook(`${base}/slack`);
  console.log("slack", (await hook.send({ text: "hello" })).text);
  // The SDK's whole request path over the global fetch; only its https://tenant host is pointed here.
  const viaLocal = (url, init) => fetch(String(url).replace("https://tenant.auth0.test", base), init);
  const management = new ManagementClient({ domain: "tenant.auth0.test", token: "mgmt-token", fetch: viaLocal });
  const { data: user } = await management.users.get({ id: "auth0|1" });
  console.log("auth0 get", user.email);
  const { data: updated } = await management.users.update({ id: "auth0|1" }, { app_metadata: { plan: "pro" } });
  console.log("auth0 update", updated.app_metadata.plan);
  try { await management.users.get({ id: "auth0|2" }); } catch (e) { console.log("auth0 error", e.statusCode, e.message); }
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_using_node_builtins_work_against_a_local_server() {
    if !registry_reachable() {
        return;
    }
    let deps = [
        ("axios", "^1.7.0"),
        ("node-fetch", "^2.7.0"),
        ("jsonwebtoken", "^9.0.0"),
        ("jose", "^5.9.0"),
        ("uuid", "^9.0.0"),
        ("@slack/webhook", "^7.0.0"),
        ("auth0", "^4.10.0"),
    ];
    let (_cache, files) = install(&deps).await;
    let addr = super::fetch::server().await;
    let rt = runtime(PoolConfig {
        allow_private_network: true,
        ..PoolConfig::default()
    });
    let mut req = ExecutionRequest {
        files,
        ..request(
            "t",
            "node-packages",
            NODE_PACKAGES,
            "post-login",
            json!({"base": format!("http://{addr}")}),
        )
    };
    // RSA in an unoptimised (test) build is slow.
    req.limits.cpu_ms_max = 60_000;
    req.limits.wall_ms_max = 60_000;
    let outcome = run(&rt, req).await;
    let logs: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        logs,
        [
            "axios get 200 application/json ada",
            "axios post 201 yes application/json|Bearer ax|{\"x\":1}",
            "axios error 404 nope",
            "axios timeout ECONNABORTED",
            "node-fetch 200 admin",
            "jwt RS256 u1",
            "jwt HS256 u2",
            "jwt refused invalid signature",
            "jose u1",
            "uuid true",
            "slack ok",
            "auth0 get ada@example.com",
            "auth0 update pro",
            "auth0 error 404 The user does not exist.",
        ],
        "{:?}",
        outcome.error
    );
}
