//! The code that runs an integration's own code, byte for byte, inside a generated CommonJS
//! module: the partner's lines keep their numbers (the wrapper's prefix shares line 1), the
//! handlers are re-exported with `event.configuration` added to a frozen copy of the event, and
//! the network is held to the manifest's `network.hosts`: by the runtime (`actionflow:network`,
//! for `fetch`, its redirects and Node's sockets alike, whatever package makes the request) and,
//! for a clear message and the test fixtures, by a `fetch` of the wrapper's own. In test mode (`actionflow integration test`
//! and the server's checks) `fetch` answers from the test's fixtures and `actionflow:ses` records
//! the emails instead of sending them: reviewers need no access to the partner's service.
//!
//! The runtime's contract is unchanged: the wrapper is ordinary action code.

use serde_json::json;

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
/// the handlers of `triggers` that the code itself exports.
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
    let settings = json!({
        "configuration": configuration,
        "hosts": hosts,
        "handlers": handlers,
        "test": matches!(mode, Mode::Test { .. }),
        "fixtures": match mode { Mode::Test { fixtures } => fixtures.clone(), Mode::Installed { .. } => json!([]) },
        "integration": match mode {
            Mode::Installed { integration, version } => json!({"slug": integration, "version": version}),
            Mode::Test { .. } => json!(null),
        },
    });
    // Everything of ours before the partner's code sits on line 1, so the partner's lines keep
    // their numbers, and the original `fetch` is captured in a closure the partner's code cannot
    // name before any of it runs.
    let prelude: Vec<&str> = PRELUDE_JS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = String::with_capacity(code.len() + 8192);
    out.push_str(&format!(
        "function __af_settings() {{ return {settings}; }} "
    ));
    out.push_str(&prelude.join(" "));
    out.push_str(" (function (exports, require, module, fetch) {");
    out.push_str(code);
    out.push_str(
        "\n}).call(__af_module.exports, __af_module.exports, __af_require, __af_module, __af_fetch);\n",
    );
    out.push_str(EXPORTS_JS);
    out
}

const SETTINGS_START: &str = "function __af_settings() { return ";

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

/// Joined into one line: statements end with `;` or `}`, and no `//` comments.
const PRELUDE_JS: &str = r#"
require("actionflow:network").restrict(__af_settings().hosts);
var __af_module = { exports: {} };
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
var __af_ses_double;
function __af_require(name) {
  if (__af_settings().test && (name === "actionflow:ses" || name === "node-ses")) {
    return (__af_ses_double = __af_ses_double || __af_test_ses());
  }
  return require(name);
}
function __af_event(event) {
  var configuration = Object.freeze(Object.assign({}, __af_settings().configuration));
  return Object.freeze(Object.assign({}, event, { configuration: configuration }));
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

/// Whether the code looks like an ES module (the wrapper runs CommonJS only).
pub fn esm_line(code: &str) -> Option<u32> {
    code.lines().enumerate().find_map(|(i, line)| {
        let t = line.trim_start();
        let esm = t.starts_with("export ")
            || t.starts_with("export{")
            || (t.starts_with("import ") && !t.starts_with("import("));
        esm.then(|| u32::try_from(i + 1).unwrap_or(u32::MAX))
    })
}
