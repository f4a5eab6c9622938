//! The deno_core module loader for actions written as ES modules: resolves `import` through the same
//! resolver as `require`, loads ESM files as they are, and wraps CommonJS/JSON files and built-ins in a
//! generated ES module (default export = `module.exports`, plus the named exports it can find).

use super::resolve::{resolve, FileKind, Resolved};
use super::{ModuleFiles, ACTION_URL};
use crate::ops::HostModules;
use deno_core::{
    ModuleLoadOptions, ModuleLoadReferrer, ModuleLoadResponse, ModuleLoader, ModuleResolveResponse,
    ModuleSource, ModuleSourceCode, ModuleSpecifier, ModuleType, RequestedModuleType,
    ResolutionKind,
};
use deno_error::JsErrorBox;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

/// Generated wrappers live under `node:` because deno_core lets only `ext:` and `node:` modules import
/// the bootstrap's `ext:` module, which they need to reach `require`. Users cannot name them: every
/// `node:x` they write resolves to a built-in through `resolve` first.
const CJS_PREFIX: &str = "node:actionflow-cjs";
const BUILTIN_PREFIX: &str = "node:actionflow-builtin/";
const REQUIRE_MODULE: &str = "ext:actionflow/04_require.js";

/// What the loader serves. Set when the isolate is given its action: a spare isolate is created before
/// anyone knows which action it will hold.
pub(crate) struct LoaderSource {
    pub files: Arc<dyn ModuleFiles>,
    pub host_modules: Arc<HostModules>,
    pub action_source: String,
}

#[derive(Default)]
pub(crate) struct ActionModuleLoader {
    source: RefCell<Option<Rc<LoaderSource>>>,
}

impl ActionModuleLoader {
    pub fn assign(&self, source: LoaderSource) {
        *self.source.borrow_mut() = Some(Rc::new(source));
    }

    fn source(&self) -> Result<Rc<LoaderSource>, JsErrorBox> {
        self.source
            .borrow()
            .clone()
            .ok_or_else(|| JsErrorBox::generic("no action is loaded in this isolate"))
    }
}

fn url(s: &str) -> Result<ModuleSpecifier, JsErrorBox> {
    ModuleSpecifier::parse(s)
        .map_err(|e| JsErrorBox::generic(format!("invalid module specifier {s}: {e}")))
}

impl ModuleLoader for ActionModuleLoader {
    fn resolve(
        &self,
        specifier: &str,
        referrer: &str,
        _kind: ResolutionKind,
    ) -> ModuleResolveResponse {
        let generated = referrer.starts_with(CJS_PREFIX) || referrer.starts_with(BUILTIN_PREFIX);
        if specifier == REQUIRE_MODULE && generated {
            return url(specifier);
        }
        if specifier == ACTION_URL {
            return url(specifier);
        }
        if specifier.starts_with("ext:") {
            return Err(JsErrorBox::generic(format!(
                "module '{specifier}' is not available in actions"
            )));
        }
        let parent = ModuleSpecifier::parse(referrer)
            .ok()
            .filter(|u| u.scheme() == "file")
            .map_or_else(|| super::ACTION_PATH.to_owned(), |u| u.path().to_owned());
        let source = self.source()?;
        match resolve(source.files.as_ref(), specifier, &parent, true) {
            Ok(Resolved::Builtin(name)) => url(&format!("{BUILTIN_PREFIX}{name}")),
            Ok(Resolved::File {
                path,
                kind: FileKind::Esm,
            }) => url(&format!("file://{path}")),
            Ok(Resolved::File { path, .. }) => url(&format!("{CJS_PREFIX}{path}")),
            Err(e) => Err(JsErrorBox::generic(e.to_string())),
        }
    }

    fn load(
        &self,
        specifier: &ModuleSpecifier,
        _referrer: Option<&ModuleLoadReferrer>,
        options: ModuleLoadOptions,
    ) -> ModuleLoadResponse {
        ModuleLoadResponse::Sync(self.load_now(specifier, &options.requested_module_type))
    }
}

impl ActionModuleLoader {
    fn load_now(
        &self,
        specifier: &ModuleSpecifier,
        requested: &RequestedModuleType,
    ) -> Result<ModuleSource, JsErrorBox> {
        let source = self.source()?;
        let text = specifier.as_str();
        let json_path = text
            .strip_prefix(CJS_PREFIX)
            .filter(|p| p.ends_with(".json"));
        let code = if let (Some(path), RequestedModuleType::Json) = (json_path, requested) {
            // `import data from "./x.json" with { type: "json" }`: V8 parses the file itself.
            source
                .files
                .read(path)
                .ok_or_else(|| JsErrorBox::generic(format!("Cannot find module '{path}'")))?
        } else if text == ACTION_URL {
            source.action_source.clone()
        } else if let Some(path) = text.strip_prefix(CJS_PREFIX) {
            let file = source.files.read(path).unwrap_or_default();
            let names = if path.ends_with(".json") {
                BTreeSet::new()
            } else {
                commonjs_export_names(&file)
            };
            wrapper(&format!("requireForImport({})", js_string(path)), &names)
        } else if let Some(name) = text.strip_prefix(BUILTIN_PREFIX) {
            let host = source.host_modules.get(name).map(|m| m.exports());
            let names = match host {
                Some(e) => Some(e.iter().map(|n| n.to_string()).collect()),
                None => super::node_builtin_exports(name).map(|e| e.iter().cloned().collect()),
            };
            wrapper(
                &format!("requireBuiltin({})", js_string(name)),
                &names.unwrap_or_default(),
            )
        } else if specifier.scheme() == "file" {
            let path = specifier.path();
            source
                .files
                .read(path)
                .ok_or_else(|| JsErrorBox::generic(format!("Cannot find module '{path}'")))?
        } else {
            return Err(JsErrorBox::generic(format!(
                "unsupported module specifier {text}"
            )));
        };
        let module_type = match requested {
            RequestedModuleType::Json => ModuleType::Json,
            _ => ModuleType::JavaScript,
        };
        Ok(ModuleSource::new(
            module_type,
            ModuleSourceCode::String(code.into()),
            specifier,
            None,
        ))
    }
}

fn js_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A named export whose getter throws (`process.stdin`, refused in actions) is `undefined` in the
/// module's namespace, so that importing the module does not fail; using it through the default
/// export still throws the clear error.
fn wrapper(load: &str, names: &BTreeSet<String>) -> String {
    let mut code = format!("import {{ requireForImport, requireBuiltin }} from \"{REQUIRE_MODULE}\";\nconst __af_m = {load};\nexport default __af_m;\n");
    if !names.is_empty() {
        code.push_str(
            "const __af_get = (k) => { try { return __af_m[k]; } catch { return undefined; } };\n",
        );
    }
    for name in names {
        code.push_str(&format!(
            "export const {name} = __af_get({});\n",
            js_string(name)
        ));
    }
    code
}

/// Named exports of a CommonJS file that can be known without running it, in the spirit of Node's
/// cjs-module-lexer: `exports.x =`, `module.exports.x =`, `Object.defineProperty(exports, "x"` and the
/// keys of `module.exports = { a, b: … }`.
pub(crate) fn commonjs_export_names(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for marker in ["module.exports.", "exports."] {
        for (i, _) in source.match_indices(marker) {
            let rest = &source[i + marker.len()..];
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            if !ident.is_empty()
                && rest[ident.len()..].trim_start().starts_with('=')
                && !rest[ident.len()..].trim_start().starts_with("==")
            {
                names.insert(ident);
            }
        }
    }
    for (i, _) in source.match_indices("Object.defineProperty(exports,") {
        let rest = source[i + 30..].trim_start();
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            if let Some(end) = rest[1..].find(q) {
                names.insert(rest[1..1 + end].to_owned());
            }
        }
    }
    if let Some(i) = source
        .find("module.exports = {")
        .or_else(|| source.find("module.exports={"))
    {
        let body = &source[i..];
        let body = &body[body.find('{').map_or(0, |b| b + 1)..];
        let body = &body[..body.find('}').unwrap_or(body.len())];
        for entry in body.split(',') {
            let key: String = entry
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            if !key.is_empty() {
                names.insert(key);
            }
        }
    }
    names.retain(|n| is_exportable(n));
    names
}

fn is_exportable(name: &str) -> bool {
    let identifier = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if !identifier {
        return false;
    }
    const RESERVED: &[&str] = &[
        // The wrapper's own bindings.
        "requireForImport",
        "requireBuiltin",
        "__af_m",
        "__af_get",
        "default",
        "__esModule",
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "let",
        "new",
        "null",
        "return",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
    ];
    !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) && !RESERVED.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_commonjs_export_names() {
        let src = "exports.a = 1; module.exports.b = 2; if (exports.c == 3) {}\nObject.defineProperty(exports, 'd', {});\nmodule.exports = { e, f: 1, default: 2 };";
        let names: Vec<_> = commonjs_export_names(src).into_iter().collect();
        assert_eq!(names, ["a", "b", "d", "e", "f"]);
    }
}
