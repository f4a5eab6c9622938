//! Tenants' code runs in sandbox processes: code that aborts V8 ends `crashed` on every path (test
//! run, deploy check, sync and async dispatch) while the server keeps its PID and serves the other
//! tenants; a version that keeps crashing is quarantined; a sandbox killed from outside loses no
//! job; and from inside a sandbox, files, processes and the server's secrets are out of reach.

use std::time::Duration;

use serde_json::{json, Value};

use crate::flows::{bind_flow, deploy, start, wait_count, wait_for, ALL_SCOPES};
use crate::support::{Api, Db, Server};

/// Inputs that abort V8 in-process ("Fatal JavaScript invalid size error", SIGTRAP).
const ABORTS_V8: &[&str] = &[
    r#""x".repeat(2 ** 28).split("")"#,
    r#""x".repeat(2 ** 28).split("x")"#,
    r#""x".repeat(2 ** 28).match(/x/g)"#,
];

/// Ends its sandbox on demand, independent of V8's limits (a test-only module of debug builds).
const ABORTS: &str = "const t = require('actionflow:sandbox-test'); \
    exports.onExecutePostLogin = async () => { await t.abort(); };";

const LOGIN: &str =
    "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('ok', true); };";

async fn start_sandboxed(db: &Db) -> Server {
    start(db, &["--sandbox-test-ops", "true", "--attempts-max", "2"]).await
}

fn handler(trigger: &str, body: &str) -> String {
    let name = match trigger {
        "post-login" => "onExecutePostLogin",
        _ => "onExecutePostUserRegistration",
    };
    format!("exports.{name} = async () => {{ {body}; }};")
}

async fn login(api: &Api) -> (u16, Value) {
    api.post(
        "/v1/triggers/post-login/dispatch",
        json!({"event": {"user": {"user_id": "u1"}, "client": {"client_id": "web"}}}),
    )
    .await
}

async fn assert_serves_others(server: &mut Server, pid: u32, bystander: &Api) {
    assert!(server.is_running(), "the server exited");
    assert_eq!(server.pid(), pid);
    let (status, body) = login(bystander).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("completed")),
        "{body}"
    );
}

async fn v8_aborts_are_outcomes_never_outages(db: Db) {
    let mut server = start_sandboxed(&db).await;
    let pid = server.pid();
    let (_, a) = server.tenant("crasher", ALL_SCOPES).await;
    let (_, b) = server.tenant("bystander", ALL_SCOPES).await;
    let claim = deploy(&b, "claim", "post-login", LOGIN).await;
    bind_flow(&b, "post-login", &[&claim]).await;
    for (i, body) in ABORTS_V8.iter().enumerate() {
        // A test run of the draft.
        let code = handler("post-login", body);
        let (status, action) = a
            .post(
                "/v1/actions",
                json!({"name": format!("draft-{i}"), "supported_triggers": [{"id": "post-login"}], "code": code}),
            )
            .await;
        assert_eq!(status, 201, "{action}");
        let id = action["id"].as_str().unwrap();
        let (status, run) = a
            .post(&format!("/v1/actions/{id}/test"), json!({"event": {}}))
            .await;
        assert_eq!((status, &run["status"]), (200, &json!("crashed")), "{run}");
        assert_eq!(run["error"]["name"], "SandboxCrashed", "{run}");
        assert_serves_others(&mut server, pid, &b).await;

        // A deploy check: the code aborts while it loads.
        let at_load = format!("{body}; {}", handler("post-login", ""));
        let (status, _) = a
            .patch(&format!("/v1/actions/{id}"), json!({"code": at_load}))
            .await;
        assert_eq!(status, 200);
        let (status, refused) = a.post(&format!("/v1/actions/{id}/deploy"), json!({})).await;
        assert!((400..500).contains(&status), "{status} {refused}");
        assert!(refused.to_string().contains("SandboxCrashed"), "{refused}");
        assert_serves_others(&mut server, pid, &b).await;

        // Sync dispatch: A's login fails closed with `crashed`.
        let sync = deploy(&a, &format!("sync-{i}"), "post-login", &code).await;
        bind_flow(&a, "post-login", &[&sync]).await;
        let (status, flow) = login(&a).await;
        assert_eq!((status, &flow["status"]), (200, &json!("failed")), "{flow}");
        assert_eq!(flow["results"][0]["status"], "crashed", "{flow}");
        assert_serves_others(&mut server, pid, &b).await;

        // Async dispatch: each attempt crashes and counts, then the execution is dead.
        let code = handler("post-user-registration", body);
        let queued = deploy(&a, &format!("async-{i}"), "post-user-registration", &code).await;
        bind_flow(&a, "post-user-registration", &[&queued]).await;
        let (status, execution) = a
            .post(
                "/v1/triggers/post-user-registration/dispatch",
                json!({"event": {"user": {"user_id": "u1"}}}),
            )
            .await;
        assert_eq!(status, 202, "{execution}");
        let dead = wait_for(&a, execution["execution_id"].as_str().unwrap(), "dead").await;
        assert_eq!(dead["attempts"], 2, "{dead}");
        assert_eq!(dead["results"][0]["status"], "crashed", "{dead}");
        assert_serves_others(&mut server, pid, &b).await;
    }
}

async fn a_crashing_tenant_is_quarantined_and_never_fails_another(db: Db) {
    let mut server = start_sandboxed(&db).await;
    let pid = server.pid();
    let (_, a) = server.tenant("crasher", ALL_SCOPES).await;
    let (_, b) = server.tenant("bystander", ALL_SCOPES).await;
    let crash = deploy(&a, "crash", "post-login", ABORTS).await;
    bind_flow(&a, "post-login", &[&crash]).await;
    let claim = deploy(&b, "claim", "post-login", LOGIN).await;
    bind_flow(&b, "post-login", &[&claim]).await;

    let crashes: Vec<_> = (0..20)
        .map(|n| {
            let a = a.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50 * n)).await;
                login(&a).await
            })
        })
        .collect();
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move {
                for _ in 0..125 {
                    let (status, flow) = login(&b).await;
                    assert_eq!(
                        (status, &flow["status"]),
                        (200, &json!("completed")),
                        "{flow}"
                    );
                }
            })
        })
        .collect();
    for task in logins {
        task.await.unwrap();
    }
    // Each of A's logins fails closed: its sandbox crashed, or (once quarantined) it did not run.
    for task in crashes {
        let (status, flow) = task.await.unwrap();
        assert_eq!((status, &flow["status"]), (200, &json!("failed")), "{flow}");
        assert_eq!(flow["results"][0]["status"], "crashed", "{flow}");
    }
    assert_serves_others(&mut server, pid, &b).await;

    let (_, version) = a.get(&format!("/v1/actions/{crash}/versions/1")).await;
    let quarantine = &version["quarantine"];
    // Crashes recorded at the same moment may both count: at least the bound.
    assert!(quarantine["crashes"].as_i64().unwrap() >= 3, "{version}");
    assert!(
        quarantine["reason"]
            .as_str()
            .unwrap()
            .contains("crashed its sandbox 3 times"),
        "{version}"
    );
    let (_, flow) = login(&a).await;
    assert_eq!(flow["results"][0]["error"]["name"], "Quarantined", "{flow}");
    // A rollback is a new version: it runs again (and crashes again, unquarantined).
    let (status, rolled) = a
        .post(&format!("/v1/actions/{crash}/versions/1/deploy"), json!({}))
        .await;
    assert_eq!(status, 201, "{rolled}");
    assert_eq!(rolled["quarantine"], Value::Null, "{rolled}");
    let (_, flow) = login(&a).await;
    assert_eq!(
        flow["results"][0]["error"]["name"], "SandboxCrashed",
        "{flow}"
    );
    assert_serves_others(&mut server, pid, &b).await;
}

on_both_backends!(
    v8_aborts_are_outcomes_never_outages,
    a_crashing_tenant_is_quarantined_and_never_fails_another
);

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: the comm may hold spaces, so read after its ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            found.push(child);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_killed_from_outside_loses_no_job() {
    let db = Db::sqlite();
    let server = start_sandboxed(&db).await;
    let (_, a) = server.tenant("t", ALL_SCOPES).await;
    let slow = "exports.onExecutePostUserRegistration = async () => { \
        await new Promise((r) => setTimeout(r, 300)); };";
    let id = deploy(&a, "slow", "post-user-registration", slow).await;
    bind_flow(&a, "post-user-registration", &[&id]).await;
    for _ in 0..20 {
        let (status, body) = a
            .post(
                "/v1/triggers/post-user-registration/dispatch",
                json!({"event": {"user": {"user_id": "u1"}}}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let sandboxes = children(server.pid());
    assert!(sandboxes.len() >= 3, "{sandboxes:?}");
    for pid in sandboxes {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
    wait_count(&a, "final", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_reaches_no_file_process_or_server_secret() {
    let db = Db::sqlite();
    let server = start_sandboxed(&db).await;
    let (_, a) = server.tenant("t", ALL_SCOPES).await;
    let master_key = std::fs::read_to_string(db.dir.path().join("master.key")).unwrap();
    let probe = format!(
        "const t = require('actionflow:sandbox-test'); \
         exports.onExecutePostLogin = async (event, api) => {{ const marker = 'probe-7c1e9f2a'; \
           api.idToken.setCustomClaim('r', [await t.read('/etc/passwd'), \
             await t.read({key:?}), await t.spawn('/bin/true'), await t.environ(), await t.pid()]); }};",
        key = db.dir.path().join("master.key").display().to_string()
    );
    let (_, action) = a
        .post(
            "/v1/actions",
            json!({"name": "probe", "supported_triggers": [{"id": "post-login"}], "code": probe}),
        )
        .await;
    let (status, run) = a
        .post(
            &format!("/v1/actions/{}/test", action["id"].as_str().unwrap()),
            json!({"event": {}}),
        )
        .await;
    assert_eq!(
        (status, &run["status"]),
        (200, &json!("completed")),
        "{run}"
    );
    let found = &run["api_calls"][0]["args"][1];
    for refused in 0..3 {
        assert_eq!(found[refused]["ok"], false, "{found}");
    }
    assert_eq!(
        found[3],
        json!([]),
        "the sandbox has an environment: {found}"
    );
    let sandbox = u32::try_from(found[4].as_u64().unwrap()).unwrap();
    assert!(children(server.pid()).contains(&sandbox));
    let mut secrets = vec![crate::support::ADMIN_TOKEN, master_key.trim()];
    secrets.extend(db.url.as_deref());
    for secret in secrets {
        assert!(
            !memory_holds(sandbox, secret.as_bytes()),
            "the sandbox's memory holds {secret}"
        );
    }
    // The scan finds what is there: the probe's own code.
    assert!(memory_holds(sandbox, b"probe-7c1e9f2a"));
}

/// Whether the readable memory of process `pid` holds `needle` (read through /proc as root).
fn memory_holds(pid: u32, needle: &[u8]) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let finder = memchr::memmem::Finder::new(needle);
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with('r') {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut region = vec![0; usize::try_from(end - start).unwrap()];
        if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut region).is_err() {
            continue;
        }
        if finder.find(&region).is_some() {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_past_its_memory_bound_is_replaced_without_losing_a_login() {
    let db = Db::sqlite();
    let server = start(&db, &["--sandboxes", "1", "--sandbox-memory-mb", "96"]).await;
    let (_, a) = server.tenant("t", ALL_SCOPES).await;
    // Each isolate of this action keeps 64 MiB: its sandbox soon passes its bound.
    let hog = "globalThis.kept = new Float64Array(8 * 1024 * 1024).fill(1); \
        exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('n', kept.length); };";
    let id = deploy(&a, "hog", "post-login", hog).await;
    bind_flow(&a, "post-login", &[&id]).await;
    let before = children(server.pid());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, flow) = login(&a).await;
        assert_eq!(
            (status, &flow["status"]),
            (200, &json!("completed")),
            "{flow}"
        );
        let now = children(server.pid());
        if before.iter().any(|pid| !now.contains(pid)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no sandbox was replaced: {before:?} {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The replacement serves at once.
    for _ in 0..20 {
        let (status, flow) = login(&a).await;
        assert_eq!(
            (status, &flow["status"]),
            (200, &json!("completed")),
            "{flow}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_sandbox_is_not_taken_for_a_hung_one() {
    let db = Db::sqlite();
    let server = start(&db, &[]).await;
    let (_, a) = server.tenant("t", ALL_SCOPES).await;
    // Slow enough that the heartbeat looks at its sandbox while it runs.
    let slow = "exports.onExecutePostLogin = async (event, api) => { \
        await new Promise((r) => setTimeout(r, 1500)); api.idToken.setCustomClaim('ok', true); };";
    let id = deploy(&a, "slow", "post-login", slow).await;
    bind_flow(&a, "post-login", &[&id]).await;
    let (_, flow) = login(&a).await;
    assert_eq!(flow["status"], "completed", "{flow}");
    // Longer than the heartbeat's silence bound (10 s) with nothing to run.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let sandboxes = children(server.pid());
    for _ in 0..2 {
        let (status, flow) = login(&a).await;
        assert_eq!(
            (status, &flow["status"]),
            (200, &json!("completed")),
            "{flow}"
        );
    }
    assert_eq!(children(server.pid()), sandboxes, "a sandbox was replaced");
}
