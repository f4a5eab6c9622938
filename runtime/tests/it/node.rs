//! Node's built-in modules inside an action: one case per module asserting what it does (not only
//! that it loads), one per refusal, and the network built-ins against local servers under the same
//! policy as `fetch`.

use super::{request, run, runtime};
use actionflow_runtime::{
    ExecutionRequest, ModuleFiles, Outcome, PackageMounts, PoolConfig, Status,
};
use serde_json::json;
use std::sync::Arc;

fn logs(outcome: &Outcome) -> Vec<&str> {
    outcome.logs.iter().map(|l| l.message.as_str()).collect()
}

/// `body` runs inside the handler; what it logs is the case's result.
fn action(body: &str) -> String {
    format!("exports.onExecutePostLogin = async (event, api) => {{\n{body}\n}};")
}

async fn run_body(rt: &actionflow_runtime::Runtime, name: &str, body: &str) -> Outcome {
    run(
        rt,
        request("t", name, &action(body), "post-login", json!({})),
    )
    .await
}

/// (module, code, the lines it must log)
const CASES: &[(&str, &str, &[&str])] = &[
    ("assert", "const assert = require('assert'); try { assert.strictEqual(1, 2); } catch (e) { console.log(e.code, e instanceof assert.AssertionError); }", &["ERR_ASSERTION true"]),
    ("assert/strict", "const assert = require('assert/strict'); try { assert.deepEqual({a: [1]}, {a: ['1']}); } catch (e) { console.log(e.name); } assert.deepEqual({a: [1]}, {a: [1]}); console.log('equal');", &["AssertionError", "equal"]),
    ("async_hooks", "const { AsyncLocalStorage } = require('async_hooks'); const als = new AsyncLocalStorage(); await als.run({ id: 7 }, async () => { await new Promise((r) => setTimeout(r, 1)); console.log(als.getStore().id); });", &["7"]),
    ("buffer", "const { Buffer } = require('buffer'); const b = Buffer.concat([Buffer.from('hel'), Buffer.from('lo')]); console.log(b.toString('base64'), b.readUInt16BE(0), Buffer.from('aGk=', 'base64').toString(), Buffer.isBuffer(b), b.equals(Buffer.from('hello')));", &["aGVsbG8= 26725 hi true true"]),
    ("console", "const { Console } = require('console'); console.log(typeof Console); require('console').log('via module');", &["function", "via module"]),
    ("crypto hashes", "const c = require('crypto'); console.log(c.createHash('sha256').update('abc').digest('hex').slice(0, 16), c.createHmac('sha1', 'k').update('m').digest('base64'), c.randomBytes(8).length, c.randomUUID().length);", &["ba7816bf8f01cfea dytxyKKZfnaL4B2XEeSk80ok7zM= 8 36"]),
    ("crypto sign", "const c = require('crypto'); const { privateKey, publicKey } = c.generateKeyPairSync('ec', { namedCurve: 'P-256' }); const sig = c.sign('sha256', Buffer.from('data'), privateKey); console.log(c.verify('sha256', Buffer.from('data'), publicKey, sig), c.verify('sha256', Buffer.from('other'), publicKey, sig), publicKey instanceof c.KeyObject, publicKey.asymmetricKeyType);", &["true false true ec"]),
    ("crypto cipher", "const c = require('crypto'); const key = c.scryptSync('pw', 'salt', 32); const iv = c.randomBytes(12); const e = c.createCipheriv('aes-256-gcm', key, iv); const ct = Buffer.concat([e.update('secret text'), e.final()]); const tag = e.getAuthTag(); const d = c.createDecipheriv('aes-256-gcm', key, iv); d.setAuthTag(tag); console.log(Buffer.concat([d.update(ct), d.final()]).toString(), c.pbkdf2Sync('pw', 'salt', 1000, 16, 'sha256').toString('hex'));", &["secret text 0a38253555ce37f5c72a6b703f996814"]),
    ("crypto webcrypto", "const { webcrypto } = require('crypto'); const d = await webcrypto.subtle.digest('SHA-256', new TextEncoder().encode('abc')); console.log(Buffer.from(d).toString('hex').slice(0, 8));", &["ba7816bf"]),
    ("diagnostics_channel", "const dc = require('diagnostics_channel'); const ch = dc.channel('af'); ch.subscribe((m) => console.log('got', m.n)); ch.publish({ n: 3 });", &["got 3"]),
    ("dns", "const dns = require('dns'); const r = await dns.promises.lookup('localhost', { family: 4 }); console.log(r.address, r.family);", &["127.0.0.1 4"]),
    ("events", "const EventEmitter = require('events'); const e = new EventEmitter(); e.once('x', (v) => console.log('x', v)); e.emit('x', 1); console.log(e.emit('x', 2), EventEmitter.defaultMaxListeners); const [v] = await Promise.all([EventEmitter.once(e, 'y'), Promise.resolve().then(() => e.emit('y', 'late'))]); console.log(v[0]);", &["x 1", "false 10", "late"]),
    ("fs package view", "const fs = require('fs'); const path = require('path'); const pkg = JSON.parse(fs.readFileSync('/node_modules/data-pkg/package.json', 'utf8')); console.log(pkg.name, fs.existsSync('/node_modules/data-pkg/data.bin'), fs.readFileSync(path.join('/node_modules/data-pkg', 'data.bin')).length, fs.readdirSync('/node_modules/data-pkg').join(','), fs.statSync('/node_modules/data-pkg').isDirectory()); console.log((await fs.promises.readFile('/node_modules/data-pkg/data.bin')).length);", &["data-pkg true 4 data.bin,package.json true", "4"]),
    ("module", "const { createRequire, builtinModules, isBuiltin } = require('module'); const r = createRequire('/node_modules/data-pkg/index.js'); console.log(r('./package.json').name, r('path').sep, builtinModules.includes('fs'), isBuiltin('node:stream'), isBuiltin('left-pad'));", &["data-pkg / true true false"]),
    ("os", "const os = require('os'); console.log(os.platform(), os.hostname(), os.homedir(), JSON.stringify(os.EOL), os.cpus().length, typeof os.arch());", &["linux localhost / \"\\n\" 0 string"]),
    ("path", "const path = require('path'); console.log(path.join('/a/b', '../c', 'd.js'), path.relative('/a/b', '/a/c'), path.extname('x.tar.gz'), path.posix.sep);", &["/a/c/d.js ../c .gz /"]),
    ("perf_hooks", "const { performance } = require('perf_hooks'); const t = performance.now(); console.log(typeof t, t >= 0);", &["number true"]),
    ("process", "console.log(JSON.stringify(process.env), process.env.HOME, process.version.startsWith('v22.'), process.platform, typeof process.hrtime.bigint(), process.cwd(), process.argv.length); const order = []; process.nextTick(() => order.push('tick')); await Promise.resolve(); order.push('micro'); await new Promise((r) => setTimeout(r, 1)); console.log(order.join(',')); process.emitWarning('careful');", &["{} undefined true linux bigint / 2", "tick,micro", "(node:1) Warning: careful"]),
    ("punycode", "console.log(require('punycode').toASCII('mañana.com'));", &["xn--maana-pta.com"]),
    ("querystring", "const qs = require('querystring'); console.log(qs.stringify({ a: 'b c', n: [1, 2] }), JSON.stringify(qs.parse('x=1&x=2&y=%20')));", &["a=b%20c&n=1&n=2 {\"x\":[\"1\",\"2\"],\"y\":\" \"}"]),
    ("stream", "const { Readable, Transform, pipeline } = require('stream'); const { pipeline: pipe } = require('stream/promises'); const out = []; await pipe(Readable.from(['a', 'b']), new Transform({ transform(c, e, cb) { cb(null, String(c).toUpperCase()); } }), async function* (src) { for await (const c of src) out.push(String(c)); }); console.log(out.join(''), typeof pipeline);", &["AB function"]),
    ("stream/web", "const { ReadableStream } = require('stream/web'); const rs = new ReadableStream({ start(c) { c.enqueue('x'); c.close(); } }); const r = rs.getReader(); console.log((await r.read()).value);", &["x"]),
    ("string_decoder", "const { StringDecoder } = require('string_decoder'); const d = new StringDecoder('utf8'); const euro = Buffer.from('€'); console.log(JSON.stringify(d.write(euro.subarray(0, 1))), d.write(euro.subarray(1)));", &["\"\" €"]),
    ("timers", "const t = require('timers'); const h = t.setTimeout(() => {}, 1000); console.log(typeof h.unref, typeof h.ref); t.clearTimeout(h); const { setTimeout: wait } = require('timers/promises'); console.log(await wait(1, 'done'));", &["function function", "done"]),
    ("tty", "const tty = require('tty'); console.log(tty.isatty(0), tty.isatty(1));", &["false false"]),
    ("url", "const url = require('url'); const u = url.parse('https://a.example/p?q=1#h'); console.log(u.host, u.query, url.format({ protocol: 'http', host: 'b', pathname: '/x' }), new url.URL('https://c/d').pathname, url.fileURLToPath('file:///x/y'));", &["a.example q=1 http://b/x /d /x/y"]),
    ("util", "const util = require('util'); console.log(util.format('%s=%d %j', 'a', 1, { b: 2 }), util.inspect({ a: { b: { c: {} } } }, { depth: 0 }), util.types.isPromise(Promise.resolve()), await util.promisify((x, cb) => cb(null, x * 2))(21), util.isDeepStrictEqual([1], [1]));", &["a=1 {\"b\":2} { a: [Object] } true 42 true"]),
    ("zlib", "const z = require('zlib'); const text = 'hello '.repeat(100); console.log(z.gunzipSync(z.gzipSync(text)).toString() === text, z.inflateSync(z.deflateSync(text)).toString().length, z.brotliDecompressSync(z.brotliCompressSync(text)).toString() === text, z.gzipSync(text).length < text.length);", &["true 600 true true"]),
];

/// A package with a data file, mounted at `/node_modules/data-pkg`.
fn data_package() -> (tempfile::TempDir, Arc<dyn ModuleFiles>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"name":"data-pkg","main":"index.js"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("data.bin"), [0u8, 159, 146, 150]).unwrap();
    let mounts = [(
        "/node_modules/data-pkg".to_owned(),
        dir.path().to_path_buf(),
    )]
    .into();
    (dir, Arc::new(PackageMounts::new(mounts)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_does_what_node_does() {
    let rt = runtime(PoolConfig::default());
    let (_dir, files) = data_package();
    let mut failures = Vec::new();
    for (i, (module, body, expected)) in CASES.iter().enumerate() {
        let req = ExecutionRequest {
            files: files.clone(),
            ..request(
                "t",
                &format!("case-{i}"),
                &action(body),
                "post-login",
                json!({}),
            )
        };
        let outcome = run(&rt, req).await;
        if outcome.status != Status::Completed || logs(&outcome) != *expected {
            failures.push(format!(
                "{module}: {:?} {:?} logs {:?}",
                outcome.status,
                outcome.error.as_ref().map(|e| &e.message),
                logs(&outcome)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (what, code that must throw, text the error must contain)
const REFUSALS: &[(&str, &str, &str)] = &[
    (
        "writing a file",
        "require('fs').writeFileSync('/tmp/x', 'y')",
        "EACCES",
    ),
    (
        "reading outside the package view",
        "require('fs').readFileSync('/etc/passwd', 'utf8')",
        "ENOENT",
    ),
    (
        "child_process",
        "require('child_process').exec('id')",
        "module 'child_process' is not available in actions",
    ),
    (
        "vm",
        "require('vm')",
        "module 'vm' is not available in actions",
    ),
    (
        "worker_threads",
        "require('worker_threads')",
        "module 'worker_threads' is not available in actions",
    ),
    (
        "process.exit",
        "process.exit(1)",
        "process.exit is not available in actions",
    ),
    (
        "a server",
        "require('http').createServer().listen(8080)",
        "not available in actions",
    ),
    (
        "Deno.core",
        "Deno.core.ops",
        "Cannot read properties of undefined",
    ),
];

#[tokio::test]
async fn what_actions_may_not_do_is_refused_clearly() {
    let rt = runtime(PoolConfig::default());
    let mut failures = Vec::new();
    for (i, (what, code, needle)) in REFUSALS.iter().enumerate() {
        let outcome = run_body(&rt, &format!("refusal-{i}"), code).await;
        let message = outcome
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        if outcome.status != Status::Threw || !message.contains(needle) {
            failures.push(format!("{what}: {:?} {message:?}", outcome.status));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_host_environment_does_not_reach_process_env() {
    let rt = runtime(PoolConfig::default());
    let outcome = run_body(
        &rt,
        "env",
        "console.log(process.env.HOME, process.env.PATH, Object.keys(process.env).length, require('os').userInfo().username);",
    )
    .await;
    assert_eq!(
        logs(&outcome),
        ["undefined undefined 0 action"],
        "{:?}",
        outcome.error
    );
}

const HTTP_CLIENT: &str = r#"
const http = require("http");
const get = (url) => new Promise((resolve, reject) => {
  http.get(url, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (c) => (body += c));
    res.on("end", () => resolve([res.statusCode, res.headers["content-type"], body]));
  }).on("error", reject);
});
const post = (url, text) => new Promise((resolve, reject) => {
  const req = http.request(url, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer n0de" } }, (res) => {
    let body = "";
    res.on("data", (c) => (body += c));
    res.on("end", () => resolve([res.statusCode, res.headers["x-echo"], body]));
  });
  req.on("error", reject);
  req.end(text);
});
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_net_clients_reach_a_local_server_when_private_addresses_are_allowed() {
    let addr = super::fetch::server().await;
    let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = echo.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let body = format!(
        "{HTTP_CLIENT}
        console.log(JSON.stringify(await get(`http://{addr}/json`)));
        console.log(JSON.stringify(await post(`http://{addr}/echo`, JSON.stringify({{ x: 1 }}))));
        const net = require('net');
        const reply = await new Promise((resolve, reject) => {{
          const s = net.connect({port}, '127.0.0.1', () => s.end('ping'));
          let got = ''; s.on('data', (c) => (got += c)); s.on('end', () => resolve(got)); s.on('error', reject);
        }});
        console.log(reply);
        // TLS to a server that speaks plain HTTP: a handshake error (rustls' provider is chosen once
        // for the process; without it this panicked in the isolate thread).
        const tls = await new Promise((resolve) => {{
          require('https').get(`https://{addr}/json`, () => resolve('reached'))
            .on('error', (e) => resolve(`tls error ${{typeof e.message}}`));
        }});
        console.log(tls);",
        port = echo_addr.port()
    );
    let rt = runtime(PoolConfig {
        allow_private_network: true,
        ..PoolConfig::default()
    });
    let outcome = run_body(&rt, "http", &body).await;
    assert_eq!(
        logs(&outcome),
        [
            r#"[200,"application/json","{\"name\":\"ada\",\"roles\":[\"admin\"]}"]"#,
            r#"[201,"yes","application/json|Bearer n0de|{\"x\":1}"]"#,
            "ping",
            "tls error string"
        ],
        "{:?}",
        outcome.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_to_private_addresses_are_refused_by_default() {
    let addr = super::fetch::server().await;
    let body = format!(
        "{HTTP_CLIENT}
        for (const url of ['http://{addr}/json', 'http://localhost:{port}/json', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:{port}/', 'http://2130706433:{port}/']) {{
          try {{ await get(url); console.log('reached', url); }} catch (e) {{ console.log('refused', e.code ?? e.name); }}
        }}
        try {{ await new Promise((res, rej) => require('net').connect({port}, '10.0.0.1').on('connect', res).on('error', rej)); console.log('reached 10/8'); }} catch (e) {{ console.log('refused', e.code ?? e.name); }}",
        port = addr.port()
    );
    let rt = runtime(PoolConfig::default());
    let outcome = run_body(&rt, "private", &body).await;
    let lines = logs(&outcome);
    assert_eq!(lines.len(), 6, "{lines:?} {:?}", outcome.error);
    assert!(lines.iter().all(|l| l.starts_with("refused")), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_share_the_request_budget_of_fetch() {
    let addr = super::fetch::server().await;
    let body = format!(
        "{HTTP_CLIENT}
        const agent = new http.Agent({{ keepAlive: false }});
        let n = 0;
        try {{ for (;;) {{ await new Promise((res, rej) => http.get({{ host: '127.0.0.1', port: {port}, path: '/json', agent }}, (r) => {{ r.resume(); r.on('end', res); }}).on('error', rej)); n++; }} }}
        catch (e) {{ console.log(n, e.message); }}",
        port = addr.port()
    );
    let rt = runtime(PoolConfig {
        allow_private_network: true,
        ..PoolConfig::default()
    });
    let mut req = request("t", "budget", &action(&body), "post-login", json!({}));
    req.limits.fetch_requests_max = 3;
    let outcome = run(&rt, req).await;
    assert_eq!(
        logs(&outcome),
        ["3 connection refused: more than 3 requests in one execution"],
        "{:?}",
        outcome.error
    );
}
