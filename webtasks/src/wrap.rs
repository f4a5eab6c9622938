//! The module the runtime loads for an extension: the tenant's code unchanged (its line numbers
//! kept: our prefix shares its first line), then the programming models (`js/webtask.js`), which
//! export the runtime's handler. A CommonJS extension runs inside a function of its own with its
//! own `module`/`exports`; an ES module's `export default` becomes a binding the models read.

/// The runtime trigger whose handler the wrapper exports, and the `api` method the answer travels
/// through (`user.setAppMetadata("webtask:response", …)`): the runtime's existing entry point,
/// used without changing it.
pub const TRIGGER: &str = "post-login";
pub const RESPONSE_CALL: &str = "user.setAppMetadata";
pub const RESPONSE_NAME: &str = "webtask:response";

const MODELS: &str = include_str!("js/webtask.js");

/// Bytes the wrapper adds around an extension's code (a bound for the code limit).
pub const WRAPPER_BYTES_MAX: usize = MODELS.len() + 512;

/// The module source for `code` (a leading BOM dropped).
pub fn wrap(code: &str) -> String {
    let code = code.strip_prefix('\u{feff}').unwrap_or(code);
    match esm_default_export(code) {
        Some(at) => {
            let mut out = String::with_capacity(code.len() + WRAPPER_BYTES_MAX);
            out.push_str(&code[..at]);
            out.push_str("const __wt_default =");
            out.push_str(&code[at + "export default".len()..]);
            out.push_str("\n;\n");
            out.push_str(MODELS);
            out.push_str("\nexport const onExecutePostLogin = __wt_handler(__wt_default);\n");
            out
        }
        None => format!(
            "var __wt_module = {{ exports: {{}} }}; (function (exports, module) {{{code}\n}}).call(\
             __wt_module.exports, __wt_module.exports, __wt_module);\n{MODELS}\n\
             module.exports = {{ onExecutePostLogin: __wt_handler(__wt_module.exports) }};\n"
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
