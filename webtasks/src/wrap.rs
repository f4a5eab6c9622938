//! The module the runtime loads for an extension: the tenant's code unchanged (its line numbers
//! kept: our prefix shares its first line), then one line handing what it exported to the
//! programming models (`js/webtask.js`), which make the runtime's handler. The models are a package
//! of ours written once under the package cache (which sandboxes may read) and mounted at
//! `/node_modules/@actionflow/webtask`: each execution carries the tenant's code only, and a warm
//! isolate loaded them once. A CommonJS extension runs inside a function of its own with its own
//! `module`/`exports`; an ES module's `export default` becomes a binding the models read.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The runtime trigger whose handler the wrapper exports, and the `api` method the answer travels
/// through (`user.setAppMetadata("webtask:response", …)`): the runtime's existing entry point,
/// used without changing it.
pub const TRIGGER: &str = "post-login";
pub const RESPONSE_CALL: &str = "user.setAppMetadata";
pub const RESPONSE_NAME: &str = "webtask:response";

const MODELS: &str = include_str!("js/webtask.js");
/// Where the models' package is mounted for every extension.
pub const MODELS_MOUNT: &str = "/node_modules/@actionflow/webtask";
const MODELS_PACKAGE: &str = "@actionflow/webtask";

/// Bytes the wrapper adds around an extension's code.
pub const WRAPPER_BYTES_MAX: usize = 512;

/// A digest of the models' source: part of every extension's version, so that a server with other
/// models never reuses an isolate loaded with these.
pub fn models_digest() -> String {
    hex::encode(&Sha256::digest(MODELS.as_bytes())[..8])
}

/// Writes the models' package under `cache_dir` (once per version of the models: the directory is
/// named by their digest and written through a rename) and returns its directory.
pub fn install_models(cache_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = cache_dir.join(format!("webtask-models-{}", models_digest()));
    if dir.join("index.js").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(cache_dir)?;
    let tmp = cache_dir.join(format!(
        ".webtask-models-{}-{}",
        models_digest(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    std::fs::write(
        tmp.join("package.json"),
        format!("{{\"name\": \"{MODELS_PACKAGE}\", \"main\": \"index.js\"}}\n"),
    )?;
    std::fs::write(
        tmp.join("index.js"),
        format!("{MODELS}\nmodule.exports = __wt_handler;\n"),
    )?;
    match std::fs::rename(&tmp, &dir) {
        Ok(()) => Ok(dir),
        // Another process put it in place first.
        Err(_) if dir.join("index.js").is_file() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dir)
        }
        Err(e) => Err(e),
    }
}

/// The module source for `code` (a leading BOM dropped).
pub fn wrap(code: &str) -> String {
    let code = code.strip_prefix('\u{feff}').unwrap_or(code);
    match esm_default_export(code) {
        Some(at) => {
            let mut out = String::with_capacity(code.len() + WRAPPER_BYTES_MAX);
            out.push_str(&code[..at]);
            out.push_str("const __wt_default =");
            out.push_str(&code[at + "export default".len()..]);
            out.push_str(&format!(
                "\n;\nimport __wt_handler from \"{MODELS_PACKAGE}\";\n\
                 export const onExecutePostLogin = __wt_handler(__wt_default);\n"
            ));
            out
        }
        None => format!(
            "var __wt_module = {{ exports: {{}} }}; (function (exports, module) {{{code}\n}}).call(\
             __wt_module.exports, __wt_module.exports, __wt_module);\n\
             module.exports = {{ onExecutePostLogin: require(\"{MODELS_PACKAGE}\")(__wt_module.exports) }};\n"
        ),
    }
}

/// Where an ES module's `export default` starts: at the start of a line (after indentation).
fn esm_default_export(code: &str) -> Option<usize> {
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("export default") {
            if rest.starts_with(|c: char| c.is_whitespace() || c == '(' || c == '{') {
                return Some(offset + (line.len() - trimmed.len()));
            }
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commonjs_keeps_the_first_line_and_esm_default_becomes_a_binding() {
        let cjs = wrap("\u{feff}module.exports = function (cb) { cb(null, 1); };");
        assert!(cjs.starts_with("var __wt_module"));
        assert_eq!(
            cjs.lines().next().map(|l| l.contains("cb(null, 1)")),
            Some(true)
        );
        let esm = wrap("import x from 'y';\n  export default async (ctx) => x;\n");
        assert!(esm.contains("  const __wt_default = async (ctx) => x;"));
        assert!(esm.contains("export const onExecutePostLogin"));
        assert_eq!(esm_default_export("const a = 'export default x';"), None);
    }
}
