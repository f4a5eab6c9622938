//! Loading packages: Node's resolution over mounted package directories (main, exports with conditions,
//! subpath patterns, nested node_modules), CommonJS ⇄ ESM interop, JSON, the Node shims; and, when
//! `ACTIONFLOW_TEST_NPM_REGISTRY` is set, real packages installed from the configured npm registry.

use super::{request, run, runtime};
use actionflow_runtime::modules::{node_builtin_exports, NODE_BUILTINS};
use actionflow_runtime::{ExecutionRequest, ModuleFiles, PackageMounts, PoolConfig, Status};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
}

/// A `node_modules` tree on disk, mounted as the registry's layout would mount it.
fn fixture() -> (tempfile::TempDir, Arc<dyn ModuleFiles>) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, &[
        ("cjs-pkg/package.json", r#"{"name":"cjs-pkg","main":"lib/main.js"}"#),
        ("cjs-pkg/lib/main.js", "const u = require('./util'); const data = require('../data.json');\nexports.add = (a, b) => u.twice(a) / 2 + b;\nexports.version = data.version;\n"),
        ("cjs-pkg/lib/util.js", "module.exports = { twice: (x) => x * 2 };\n"),
        ("cjs-pkg/data.json", r#"{"version":"1.2.3"}"#),
        ("dual/package.json", r#"{"name":"dual","exports":{".":{"import":"./esm.mjs","require":"./cjs.js"},"./feature":"./feature.js","./sub/*":"./lib/*.js","./package.json":"./package.json"}}"#),
        ("dual/esm.mjs", "export const kind = 'esm';\nexport default 'dual-esm';\n"),
        ("dual/cjs.js", "exports.kind = 'cjs';\n"),
        ("dual/feature.js", "module.exports = 'feature';\n"),
        ("dual/lib/deep.js", "module.exports = 'deep';\n"),
        ("esm-only/package.json", r#"{"name":"esm-only","type":"module","exports":"./index.js"}"#),
        ("esm-only/index.js", "import { twice } from './helper.js';\nexport default function quadruple(x) { return twice(twice(x)); }\n"),
        ("esm-only/helper.js", "export const twice = (x) => x * 2;\n"),
        ("a/package.json", r#"{"name":"a","main":"index.js"}"#),
        ("a/index.js", "module.exports = require('b').version;\n"),
        ("a-b/package.json", r#"{"name":"b","version":"1.0.0"}"#),
        ("a-b/index.js", "exports.version = 1;\n"),
        ("b/package.json", r#"{"name":"b","version":"2.0.0"}"#),
        ("b/index.js", "exports.version = 2;\n"),
    ]);
    let mounts: BTreeMap<String, std::path::PathBuf> = [
        ("/node_modules/cjs-pkg", "cjs-pkg"),
        ("/node_modules/dual", "dual"),
        ("/node_modules/esm-only", "esm-only"),
        ("/node_modules/a", "a"),
        ("/node_modules/a/node_modules/b", "a-b"),
        ("/node_modules/b", "b"),
    ]
    .into_iter()
    .map(|(v, d)| (v.to_owned(), r.join(d)))
    .collect();
    (dir, Arc::new(PackageMounts::new(mounts)))
}

fn with_files(req: ExecutionRequest, files: &Arc<dyn ModuleFiles>) -> ExecutionRequest {
    ExecutionRequest {
        files: files.clone(),
        ..req
    }
}

fn logs(outcome: &actionflow_runtime::Outcome) -> Vec<&str> {
    outcome.logs.iter().map(|l| l.message.as_str()).collect()
}

#[tokio::test]
async fn commonjs_actions_require_packages_like_node() {
    let (_dir, files) = fixture();
    let code = r#"
const pkg = require("cjs-pkg");
exports.onExecutePostLogin = async () => {
  console.log(pkg.add(2, 3), pkg.version, require("cjs-pkg/lib/util").twice(4));
  console.log(require("dual").kind, require("dual/feature"), require("dual/sub/deep"), require("dual/package.json").name);
  console.log(require("a"), require("b").version);
  for (const bad of ["esm-only", "dual/lib/deep.js", "nope"]) {
    try { require(bad); } catch (e) { console.log(e.code ?? "", e.message); }
  }
};"#;
    let rt = runtime(PoolConfig::default());
    let outcome = run(
        &rt,
        with_files(request("t", "cjs", code, "post-login", json!({})), &files),
    )
    .await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
    assert_eq!(
        logs(&outcome),
        [
            "5 1.2.3 8",
            "cjs feature deep dual",
            "1 2",
            "ERR_REQUIRE_ESM require() of ES module /node_modules/esm-only/index.js from /action.js is not supported: use import",
            " Package subpath './lib/deep.js' is not defined by \"exports\" in /node_modules/dual/package.json",
            " Cannot find module 'nope' from '/action.js'",
        ]
    );
}

#[tokio::test]
async fn es_modules_import_esm_and_commonjs_packages() {
    let (_dir, files) = fixture();
    let code = r#"
import quadruple from "esm-only";
import dual, { kind } from "dual";
import pkg, { add, version } from "cjs-pkg";
import data from "cjs-pkg/data.json" with { type: "json" };
import { createHash } from "node:crypto";
import path from "path";
export async function onExecutePostLogin() {
  console.log(quadruple(3), dual, kind, add(1, 1), version, pkg.version === version, data.version);
  console.log(createHash("sha256").update("abc").digest("hex").slice(0, 16), path.join("/a", "../b", "c.js"));
}"#;
    let rt = runtime(PoolConfig::default());
    let outcome = run(
        &rt,
        with_files(request("t", "esm", code, "post-login", json!({})), &files),
    )
    .await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
    assert_eq!(
        logs(&outcome),
        [
            "12 dual-esm esm 2 1.2.3 true 1.2.3",
            "ba7816bf8f01cfea /b/c.js"
        ]
    );
}

#[tokio::test]
async fn node_shims_behave_like_node() {
    let code = r#"
const { EventEmitter } = require("events");
const util = require("node:util");
const qs = require("querystring");
const { Buffer: B } = require("buffer");
const crypto = require("crypto");
exports.onExecutePostLogin = async () => {
  const e = new EventEmitter();
  e.once("x", (v) => console.log("once", v));
  e.on("x", (v) => console.log("on", v));
  e.emit("x", 1); e.emit("x", 2);
  console.log(util.format("%s has %d items", "cart", 3), util.inspect({ a: [1] }));
  console.log(qs.stringify({ a: "b c", n: [1, 2] }), JSON.stringify(qs.parse("a=b%20c&n=1&n=2")));
  console.log(B.from("héllo").toString("base64"), B.from("68656c6c6f", "hex").toString(), Buffer === B, B.concat([B.from("a"), B.from("b")]).toString("hex"));
  console.log(crypto.createHmac("sha1", "key").update("data").digest("base64"), crypto.createHash("md5").update("a").update("bc").digest("hex"));
  console.log(crypto.randomBytes(8).length, typeof crypto.randomUUID(), await util.promisify((x, cb) => cb(null, x + 1))(41));
};"#;
    let rt = runtime(PoolConfig::default());
    let outcome = run(&rt, request("t", "shims", code, "post-login", json!({}))).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
    assert_eq!(
        logs(&outcome),
        [
            "once 1",
            "on 1",
            "on 2",
            "cart has 3 items { a: [ 1 ] }",
            r#"a=b%20c&n=1&n=2 {"a":"b c","n":["1","2"]}"#,
            "aMOpbGxv hello true 6162",
            "EEFSxb/coHvGM+69RhmfAlXJ9J0= 900150983cd24fb0d6963f7d28e17f72",
            "8 string 42",
        ]
    );
}

#[tokio::test]
async fn node_builtins_export_what_rust_lists() {
    const RESERVED: &str = "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await";
    let code = format!(
        "exports.onExecutePostLogin = async () => {{ const reserved = new Set({RESERVED:?}.split(' ')); const out = {{}}; \
         for (const n of {NODE_BUILTINS:?}) {{ let m; try {{ m = require(n); }} catch {{ continue; }} \
           out[n] = Object.keys(m).filter((k) => /^[A-Za-z_$][\\w$]*$/.test(k) && !reserved.has(k)).sort(); }} \
         console.log(JSON.stringify(out)); }};"
    );
    let rt = runtime(PoolConfig::default());
    let outcome = run(&rt, request("t", "names", &code, "post-login", json!({}))).await;
    assert_eq!(outcome.status, Status::Completed, "{:?}", outcome.error);
    let seen: BTreeMap<String, Vec<String>> = serde_json::from_str(&logs(&outcome)[0]).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/modules/builtin_exports.json");
    if std::env::var_os("ACTIONFLOW_WRITE_BUILTIN_EXPORTS").is_some() {
        std::fs::write(&file, serde_json::to_string_pretty(&seen).unwrap() + "\n").unwrap();
    }
    for (name, exports) in &seen {
        assert_eq!(
            node_builtin_exports(name).map(<[String]>::to_vec).as_ref(),
            Some(exports),
            "named exports of '{name}' (rewrite {} with ACTIONFLOW_WRITE_BUILTIN_EXPORTS=1)",
            file.display()
        );
    }
}
