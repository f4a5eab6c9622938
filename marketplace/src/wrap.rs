//! The code that runs an integration's own code inside a generated module: the partner's lines
//! keep their numbers (the wrapper's prefix shares line 1), the handlers are re-exported with
//! `event.configuration` added to a frozen copy of the event, and the network is held to the
//! manifest's `network.hosts`: by the runtime (`actionflow:network`, for `fetch`, its redirects and
//! Node's sockets alike, whatever package makes the request) and, for a clear message and the test
//! fixtures, by a `fetch` of the wrapper's own. In test mode (`actionflow integration test` and the
//! server's checks) `fetch` answers from the test's fixtures and `actionflow:ses` records the
//! emails instead of sending them: reviewers need no access to the partner's service.
//!
//! CommonJS runs byte for byte inside a function. An ES module cannot: its `import`s and
//! `export`s must sit at a module's top level, so the wrapper is itself an ES module holding the
//! partner's code rewritten by [`crate::esm`] (exports turned into local bindings the wrapper
//! re-exports, nothing else changed): a deterministic function of the reviewed bytes. A module's
//! static imports are evaluated before its body, in the order written, so a dependency's
//! top-level code would run before a `restrict` in the body: the wrapper's first import,
//! `actionflow:network?restrict=<hosts>`, restricts when it is evaluated, before any of the
//! partner's imports; and should anything reach the network first, the runtime refuses to
//! restrict an execution that already did (fail-closed: the load fails).
//!
//! The runtime's contract is unchanged: the wrapper is ordinary action code.

use actionflow_runtime::modules::ACTION_URL;
use serde_json::json;

use crate::esm;

/// Room the wrapper takes beside the partner's code (its own code and a configuration of usual
/// size): a package's code may use the actions' code limit less this.
pub const WRAPPER_BYTES_MAX: usize = 8 * 1024;

/// The marker of the lines the test mode logs for the harness (requests made, emails recorded).
pub const TEST_MARK: &str = "[actionflow-test] ";

/// How the wrapped code reaches the network.
pub enum Mode<'a> {
    /// Installed in a tenant: `fetch` reaches the declared hosts only. The integration and its
    /// version are written into the code, so each action version tells what it runs.
    Installed {
        integration: &'a str,
        version: &'a str,
    },
    /// Test run: `fetch` answers from `fixtures` (`[{request: {method, url}, response}]`).
    Test { fixtures: &'a serde_json::Value },
}

/// The action code that runs `code` with `configuration` and the manifest's `hosts`, exporting
/// the handlers of `triggers` that the code itself exports. An ES module (see [`crate::esm`]) is
/// wrapped in an ES module, CommonJS in a function.
pub fn wrap(
    code: &str,
    triggers: &[String],
    configuration: &serde_json::Map<String, serde_json::Value>,
    hosts: &[String],
    mode: Mode<'_>,
) -> String {
    let handlers: Vec<&str> = actionflow_runtime::TRIGGERS
        .iter()
        .filter(|t| triggers.iter().any(|id| id == t.id))
        .map(|t| t.handler)
        .collect();
    let test = matches!(mode, Mode::Test { .. });
    let settings = json!({
        "configuration": configuration,
        "hosts": hosts,
        "handlers": handlers,
        "test": test,
        "fixtures": match mode { Mode::Test { fixtures } => fixtures.clone(), Mode::Installed { .. } => json!([]) },
        "integration": match mode {
            Mode::Installed { integration, version } => json!({"slug": integration, "version": version}),
            Mode::Test { .. } => json!(null),
        },
    });
    // Everything of ours before the partner's code sits on line 1, so the partner's lines keep
    // their numbers, and the original `fetch` is captured in a closure the partner's code cannot
    // name before any of it runs.
    let mut out = String::with_capacity(code.len() + 8192);
    out.push_str(&format!("{SETTINGS_START}{settings}; }} "));
    match esm::analyze(code, test, ACTION_URL) {
        Ok(esm::Shape::Module(module)) => {
            let restricting = format!("actionflow:network?restrict={}", hosts.join(","));
            out.push_str(&format!(
                "import __af_network from {}; ",
                serde_json::Value::from(restricting)
            ));
            out.push_str(&one_line(ESM_START_JS));
            out.push(' ');
            out.push_str(&one_line(PRELUDE_JS));
            if test {
                out.push(' ');
                out.push_str(&one_line(ESM_SES_JS));
            }
            out.push(' ');
            out.push_str(&module.code);
            out.push_str(&esm_exports(&module, &handlers, test));
        }
        // A module that does not parse fails to load in the runtime with the parser's line.
        Ok(esm::Shape::Script) | Err(_) => {
            out.push_str(&one_line(CJS_START_JS));
            out.push(' ');
            out.push_str(&one_line(PRELUDE_JS));
            out.push(' ');
            out.push_str(&one_line(CJS_REQUIRE_JS));
            out.push_str(" (function (exports, require, module, fetch) {");
            out.push_str(code);
            out.push_str(
                "\n}).call(__af_module.exports, __af_module.exports, __af_require, __af_module, __af_fetch);\n",
            );
            out.push_str(EXPORTS_JS);
        }
    }
    out
}

fn one_line(js: &str) -> String {
    js.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// After a module's code: what it exported (read through getters, so a re-assigned `let` is seen
/// as it is when called), the handlers re-exported with `event.configuration`, and in test mode
/// the SES double under the names the rewritten imports ask for.
fn esm_exports(module: &esm::Rewritten, handlers: &[&str], test: bool) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let getters: Vec<String> = module
        .exports
        .iter()
        .map(|(name, local)| format!("{}: () => {local}", quote(name)))
        .collect();
    let mut out = format!(
        "\n;\nconst __af_exported = {{ {} }};\n{}",
        getters.join(", "),
        ESM_EXPORTS_JS.trim_start()
    );
    let mut names = Vec::new();
    for (i, handler) in handlers.iter().enumerate() {
        out.push_str(&format!(
            "const __af_h{i} = __af_handler({});\n",
            quote(handler)
        ));
        names.push(format!("__af_h{i} as {handler}"));
    }
    if test {
        names.push(format!("__af_ses_double as {}", esm::SES_DEFAULT));
        names.push(format!("__af_ses_namespace as {}", esm::SES_NAMESPACE));
        names.push(format!(
            "__af_ses_create as {}createClient",
            esm::SES_NAMED_PREFIX
        ));
    }
    if !names.is_empty() {
        out.push_str(&format!("export {{ {} }};\n", names.join(", ")));
    }
    out
}

const SETTINGS_START: &str = "function __af_settings() { return ";

/// The ES module wrapper's first statement after its import of `actionflow:network?restrict=…`
/// (which restricts the network when it is evaluated: before the partner's imports, evaluated in
/// the order written). The same hosts again: refused if anything changed them.
const ESM_START_JS: &str = r#"
__af_network.restrict(__af_settings().hosts);
"#;

/// Test mode, ES module: the double the rewritten SES imports name (exported at the end; set
/// here, before any of the partner's code runs).
const ESM_SES_JS: &str = r#"
var __af_ses_double = __af_test_ses();
var __af_ses_create = __af_ses_double.createClient;
var __af_ses_namespace = Object.freeze({ default: __af_ses_double, createClient: __af_ses_create });
"#;

/// After a module's code, before its handlers are made: the same missing-handler check as the
/// CommonJS wrapper's.
const ESM_EXPORTS_JS: &str = r#"
function __af_value(name) { var get = __af_exported[name]; return get === undefined ? undefined : get(); }
if (__af_settings().test) {
  var __af_missing = __af_settings().handlers.filter(function (name) { return typeof __af_value(name) !== "function"; });
  if (__af_missing.length) throw new TypeError("the code does not export " + __af_missing.join(", ") + " (exports found: " + (Object.keys(__af_exported).join(", ") || "none") + ")");
}
function __af_handler(name) {
  if (typeof __af_value(name) !== "function") return undefined;
  return function (event, api) { return __af_value(name)(__af_event(event), api); };
}
"#;

/// The integration slug and version an installed copy's code runs (`None` for other code).
pub fn running_integration(code: &str) -> Option<(String, String)> {
    let settings = code.strip_prefix(SETTINGS_START)?;
    let mut values = serde_json::Deserializer::from_str(settings).into_iter::<serde_json::Value>();
    let settings = values.next()?.ok()?;
    let integration = &settings["integration"];
    Some((
        integration["slug"].as_str()?.to_owned(),
        integration["version"].as_str()?.to_owned(),
    ))
}

/// The CommonJS wrapper's first statements: the network restricted before anything else runs.
const CJS_START_JS: &str = r#"
require("actionflow:network").restrict(__af_settings().hosts);
var __af_module = { exports: {} };
"#;

/// Both wrappers' own code: joined into one line (statements end with `;` or `}`, and no `//`
/// comments).
const PRELUDE_JS: &str = r#"
var __af_fetch = (function (original) {
  return function (input, init) {
    var settings = __af_settings();
    var url = new URL(typeof input === "string" ? input : String(input && input.url !== undefined ? input.url : input));
    var method = String((init && init.method) || (input && input.method) || "GET").toUpperCase();
    if (settings.test) console.debug("[actionflow-test] request " + JSON.stringify({ method: method, url: url.href, host: url.hostname }));
    if (!__af_host_allowed(url.hostname)) {
      return Promise.reject(new TypeError("fetch to " + url.hostname + " is not allowed: the integration's network.hosts are " + (settings.hosts.join(", ") || "none")));
    }
    if (!settings.test) return original(input, init);
    var fixture = settings.fixtures.find(function (f) {
      var r = f.request || {};
      return String(r.method || "GET").toUpperCase() === method && r.url === url.href;
    });
    if (!fixture) return Promise.reject(new TypeError("no fixture answers " + method + " " + url.href));
    var res = fixture.response || {};
    var body = res.body === undefined ? "" : typeof res.body === "string" ? res.body : JSON.stringify(res.body);
    return Promise.resolve(new Response(body, { status: res.status || 200, headers: res.headers || {} }));
  };
})(globalThis.fetch);
try { globalThis.fetch = __af_fetch; } catch (e) {}
function __af_host_allowed(host) {
  host = String(host).toLowerCase();
  return __af_settings().hosts.some(function (p) {
    p = String(p).toLowerCase();
    return p.startsWith("*.") ? host.endsWith(p.slice(1)) : host === p;
  });
}
function __af_test_ses() {
  var sent = 0;
  return {
    createClient: function (options) {
      if (!options || !options.key || !options.secret) throw new TypeError("createClient: key and secret are required");
      return {
        sendEmail: function (m) {
          if (!m || !m.to || !m.from || !m.subject) return Promise.reject(new TypeError("sendEmail: to, from and subject are required"));
          sent += 1;
          console.debug("[actionflow-test] ses " + JSON.stringify({ to: m.to, from: m.from, subject: m.subject }));
          return Promise.resolve({ messageId: "test-message-" + sent });
        },
      };
    },
  };
}
function __af_event(event) {
  var configuration = Object.freeze(Object.assign({}, __af_settings().configuration));
  return Object.freeze(Object.assign({}, event, { configuration: configuration }));
}
"#;

/// The CommonJS wrapper's `require`: the SES double in test mode.
const CJS_REQUIRE_JS: &str = r#"
var __af_ses_double;
function __af_require(name) {
  if (__af_settings().test && (name === "actionflow:ses" || name === "node-ses")) {
    return (__af_ses_double = __af_ses_double || __af_test_ses());
  }
  return require(name);
}
"#;

/// After the partner's code: the handlers it exports, re-exported with `event.configuration`; in
/// test mode a missing handler fails the load (as a deploy check would).
const EXPORTS_JS: &str = r#"
if (__af_settings().test) {
  var __af_missing = __af_settings().handlers.filter(function (name) { return typeof __af_module.exports[name] !== "function"; });
  if (__af_missing.length) throw new TypeError("the code does not export " + __af_missing.join(", ") + " (exports found: " + (Object.keys(__af_module.exports).join(", ") || "none") + ")");
}
__af_settings().handlers.forEach(function (name) {
  if (typeof __af_module.exports[name] === "function") {
    exports[name] = function (event, api) { return __af_module.exports[name](__af_event(event), api); };
  }
});
"#;
