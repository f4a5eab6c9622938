//! A partner's ES module read with a real parser (`deno_ast`, swc underneath: the parser the
//! runtime's own build already uses) and rewritten, deterministically and line for line, into
//! code the wrapper can hold in one module of its own: each `export` declaration becomes a local
//! binding (`export const/function/class` lose `export`, `export default` becomes `__af_default`,
//! `export {a as b}` is dropped and remembered), so the wrapper alone decides what the module
//! exports (the handlers with `event.configuration`). Re-exports from other modules (`export …
//! from`) are refused: what they would export is not in the reviewed file. In test mode the
//! imports of the SES module (`actionflow:ses`, `node-ses`) are pointed at the wrapper's
//! recording double, through an import of the wrapper module itself.
//!
//! Only text between tokens changes, never a newline: the partner's lines keep their numbers.

use deno_ast::diagnostics::Diagnostic as _;
use deno_ast::swc::ast::{
    Decl, DefaultDecl, ExportSpecifier, ImportSpecifier, ModuleDecl, ModuleExportName, ModuleItem,
    ObjectPatProp, Pat,
};
use deno_ast::swc::common::Spanned;
use deno_ast::{MediaType, ModuleSpecifier, ParseParams};

use crate::text_edits::Edits;

/// The name an `export default` expression or anonymous declaration is bound to.
pub(crate) const DEFAULT_LOCAL: &str = "__af_default";

/// The modules whose imports the test mode answers with its recording double.
const SES_MODULES: [&str; 2] = ["actionflow:ses", "node-ses"];

/// How the code is written.
#[derive(Debug)]
pub(crate) enum Shape {
    /// No `import`/`export` declaration (or not parseable as a module): CommonJS.
    Script,
    /// An ES module, rewritten.
    Module(Rewritten),
}

/// A partner module rewritten to export nothing itself.
#[derive(Debug)]
pub(crate) struct Rewritten {
    /// The code with its exports turned into local bindings (same lines).
    pub code: String,
    /// Exported name → the local binding holding it, in the order written.
    pub exports: Vec<(String, String)>,
    /// `export … from` / `export * from`, refused: their lines.
    pub reexports: Vec<u32>,
}

/// An ES module that does not parse: the parser's message and its line.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub message: String,
    pub line: u32,
}

/// Parses `code` as a module; `Ok(Script)` when it has no module declarations (or is only valid
/// as a script: the runtime then reports it as CommonJS would). In `test` mode the SES imports
/// are pointed at `self_url`'s double.
pub(crate) fn analyze(code: &str, test: bool, self_url: &str) -> Result<Shape, SyntaxError> {
    let parsed = match parse(code) {
        Ok(parsed) => parsed,
        Err(e) if looks_like_module(code) => return Err(e),
        Err(_) => return Ok(Shape::Script),
    };
    let module = parsed.program_ref();
    let deno_ast::ProgramRef::Module(module) = module else {
        return Ok(Shape::Script);
    };
    let decls: Vec<&ModuleDecl> = module
        .body
        .iter()
        .filter_map(|item| match item {
            ModuleItem::ModuleDecl(d) => Some(d),
            ModuleItem::Stmt(_) => None,
        })
        .collect();
    if decls.is_empty() {
        return Ok(Shape::Script);
    }
    let mut edits = Edits::new(code);
    let mut exports = Vec::new();
    let mut reexports = Vec::new();
    for decl in decls {
        rewrite(
            decl,
            test,
            self_url,
            &mut edits,
            &mut exports,
            &mut reexports,
        );
    }
    Ok(Shape::Module(Rewritten {
        code: edits.apply(),
        exports,
        reexports,
    }))
}

fn parse(code: &str) -> Result<deno_ast::ParsedSource, SyntaxError> {
    let specifier =
        ModuleSpecifier::parse("file:///integration.action.js").map_err(|e| SyntaxError {
            message: e.to_string(),
            line: 1,
        })?;
    let error = |d: &deno_ast::ParseDiagnostic| SyntaxError {
        message: d.message().to_string(),
        line: u32::try_from(d.display_position().line_number).unwrap_or(u32::MAX),
    };
    let parsed = deno_ast::parse_module(ParseParams {
        specifier,
        text: code.into(),
        media_type: MediaType::JavaScript,
        capture_tokens: false,
        scope_analysis: false,
        maybe_syntax: None,
    })
    .map_err(|d| error(&d))?;
    if let Some(d) = parsed.diagnostics().first() {
        return Err(error(d));
    }
    Ok(parsed)
}

/// Whether a line starts with `import ` or `export `: the code means to be a module.
fn looks_like_module(code: &str) -> bool {
    code.lines().any(|line| {
        let t = line.trim_start();
        t.starts_with("export ")
            || t.starts_with("export{")
            || (t.starts_with("import ") && !t.starts_with("import("))
    })
}

/// A swc position (1-based) as a byte offset into the text.
fn byte(pos: deno_ast::swc::common::BytePos) -> usize {
    (pos.0 as usize).saturating_sub(1)
}

fn line_of(code: &str, at: usize) -> u32 {
    let before = code.get(..at).unwrap_or(code);
    u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX)
}

fn rewrite(
    decl: &ModuleDecl,
    test: bool,
    self_url: &str,
    edits: &mut Edits,
    exports: &mut Vec<(String, String)>,
    reexports: &mut Vec<u32>,
) {
    let start = byte(decl.span().lo);
    let end = byte(decl.span().hi);
    match decl {
        ModuleDecl::Import(import) => {
            let from = import.src.value.as_atom().map(|a| a.to_string());
            if test && from.as_deref().is_some_and(|s| SES_MODULES.contains(&s)) {
                let text = ses_import(&import.specifiers, self_url);
                edits.replace(start, end, &text);
            }
        }
        ModuleDecl::ExportDecl(export) => {
            edits.replace(start, byte(export.decl.span().lo), "");
            match &export.decl {
                Decl::Class(c) => exports.push(same(&c.ident.sym)),
                Decl::Fn(f) => exports.push(same(&f.ident.sym)),
                Decl::Var(v) => {
                    for d in &v.decls {
                        let mut names = Vec::new();
                        bindings(&d.name, &mut names);
                        exports.extend(names.iter().map(|n| (n.clone(), n.clone())));
                    }
                }
                // `using` and TypeScript declarations do not parse as JavaScript.
                _ => {}
            }
        }
        ModuleDecl::ExportDefaultDecl(export) => {
            let (ident, inner) = match &export.decl {
                DefaultDecl::Class(c) => (c.ident.as_ref(), c.class.span().lo),
                DefaultDecl::Fn(f) => (f.ident.as_ref(), f.function.span().lo),
                DefaultDecl::TsInterfaceDecl(_) => return,
            };
            match ident {
                // A named declaration stays a declaration (hoisted as before).
                Some(ident) => {
                    edits.replace(start, byte(inner), "");
                    exports.push(("default".to_owned(), ident.sym.to_string()));
                }
                // Nothing can name an anonymous one before it runs: a constant is the same.
                None => {
                    edits.replace(start, byte(inner), &format!("const {DEFAULT_LOCAL} = "));
                    edits.replace(end, end, ";");
                    exports.push(("default".to_owned(), DEFAULT_LOCAL.to_owned()));
                }
            }
        }
        ModuleDecl::ExportDefaultExpr(export) => {
            edits.replace(
                start,
                byte(export.expr.span().lo),
                &format!("const {DEFAULT_LOCAL} = "),
            );
            if !edits.text(start, end).trim_end().ends_with(';') {
                edits.replace(end, end, ";");
            }
            exports.push(("default".to_owned(), DEFAULT_LOCAL.to_owned()));
        }
        ModuleDecl::ExportNamed(named) if named.src.is_none() => {
            edits.blank(start, end);
            for spec in &named.specifiers {
                if let ExportSpecifier::Named(n) = spec {
                    let local = export_name(&n.orig);
                    let exported = n
                        .exported
                        .as_ref()
                        .map_or_else(|| local.clone(), export_name);
                    exports.push((exported, local));
                }
            }
        }
        ModuleDecl::ExportNamed(_) | ModuleDecl::ExportAll(_) => {
            reexports.push(line_of(edits.original, start));
        }
        _ => {}
    }
}

fn same(name: &str) -> (String, String) {
    (name.to_owned(), name.to_owned())
}

fn export_name(name: &ModuleExportName) -> String {
    match name {
        ModuleExportName::Ident(i) => i.sym.to_string(),
        ModuleExportName::Str(s) => s.value.to_atom_lossy().to_string(),
    }
}

/// The names a declaration's pattern binds (`const { a, b: [c] } = …` binds `a` and `c`).
fn bindings(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(i) => out.push(i.id.sym.to_string()),
        Pat::Array(a) => a.elems.iter().flatten().for_each(|p| bindings(p, out)),
        Pat::Rest(r) => bindings(&r.arg, out),
        Pat::Assign(a) => bindings(&a.left, out),
        Pat::Object(o) => {
            for prop in &o.props {
                match prop {
                    ObjectPatProp::KeyValue(kv) => bindings(&kv.value, out),
                    ObjectPatProp::Assign(a) => out.push(a.key.id.sym.to_string()),
                    ObjectPatProp::Rest(r) => bindings(&r.arg, out),
                }
            }
        }
        Pat::Invalid(_) | Pat::Expr(_) => {}
    }
}

/// The names under which the wrapper module exports the SES double (test mode only).
pub(crate) const SES_DEFAULT: &str = "__af_ses_default";
pub(crate) const SES_NAMESPACE: &str = "__af_ses_namespace";
pub(crate) const SES_NAMED_PREFIX: &str = "__af_ses_";

/// `import ses, { createClient as c } from "node-ses"` → the same bindings from the wrapper's
/// own exports: live, hoisted and immutable like the original import.
fn ses_import(specifiers: &[ImportSpecifier], self_url: &str) -> String {
    let url = serde_json::Value::from(self_url).to_string();
    if specifiers.is_empty() {
        return format!("import {url};");
    }
    let names: Vec<String> = specifiers
        .iter()
        .map(|s| match s {
            ImportSpecifier::Default(d) => format!("{SES_DEFAULT} as {}", d.local.sym),
            ImportSpecifier::Namespace(n) => format!("{SES_NAMESPACE} as {}", n.local.sym),
            ImportSpecifier::Named(n) => {
                let imported = n
                    .imported
                    .as_ref()
                    .map_or_else(|| n.local.sym.to_string(), export_name);
                let imported = if imported == "default" {
                    SES_DEFAULT.to_owned()
                } else {
                    format!("{SES_NAMED_PREFIX}{imported}")
                };
                format!("{imported} as {}", n.local.sym)
            }
        })
        .collect();
    format!("import {{ {} }} from {url};", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(code: &str, test: bool) -> Rewritten {
        match analyze(code, test, "file:///action.js") {
            Ok(Shape::Module(m)) => m,
            other => panic!("not a module: {other:?}"),
        }
    }

    #[test]
    fn exports_become_local_bindings_on_the_same_lines() {
        let code = "import x from \"y\";\n\
                    export const a = 1, { b, c: [d] } = x;\n\
                    export async function onExecutePostLogin(event) {}\n\
                    export class K {}\n\
                    const e = 2;\n\
                    export { e as f,\n  e };\n\
                    export default {\n  a\n}\n";
        let m = rewritten(code, false);
        assert_eq!(
            m.code,
            "import x from \"y\";\n\
             const a = 1, { b, c: [d] } = x;\n\
             async function onExecutePostLogin(event) {}\n\
             class K {}\n\
             const e = 2;\n\
             \n\n\
             const __af_default = {\n  a\n};\n"
        );
        let names: Vec<(&str, &str)> = m
            .exports
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("a", "a"),
                ("b", "b"),
                ("d", "d"),
                ("onExecutePostLogin", "onExecutePostLogin"),
                ("K", "K"),
                ("f", "e"),
                ("e", "e"),
                ("default", "__af_default"),
            ]
        );
        assert!(m.reexports.is_empty());
    }

    #[test]
    fn default_declarations_keep_or_get_a_name() {
        let m = rewritten("export default function named() {}\n", false);
        assert_eq!(m.code, "function named() {}\n");
        assert_eq!(m.exports, [("default".into(), "named".into())]);
        let m = rewritten("export default async function () {}\n", false);
        assert_eq!(m.code, "const __af_default = async function () {};\n");
    }

    #[test]
    fn reexports_are_found_and_ses_imports_point_at_the_double_in_test_mode() {
        let code = "import ses, { createClient as c } from \"node-ses\";\n\
                    import * as s2 from 'actionflow:ses';\n\
                    export * from \"./other.js\";\n\
                    export { z } from \"./z.js\";\n";
        let m = rewritten(code, true);
        assert_eq!(m.reexports, [3, 4]);
        let first = m.code.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            "import { __af_ses_default as ses, __af_ses_createClient as c } from \"file:///action.js\";"
        );
        assert!(m.code.contains("import { __af_ses_namespace as s2 } from"));
        let installed = rewritten(code, false);
        assert!(installed
            .code
            .starts_with("import ses, { createClient as c } from \"node-ses\";"));
    }

    #[test]
    fn commonjs_and_broken_modules() {
        assert!(matches!(
            analyze("exports.onExecutePostLogin = async () => {};\n", false, "x"),
            Ok(Shape::Script)
        ));
        // Valid as a script only (a `with` statement): CommonJS.
        assert!(matches!(
            analyze("with (Math) { exports.x = PI; }\n", false, "x"),
            Ok(Shape::Script)
        ));
        let error = analyze("const a = 1;\nexport const = 2;\n", false, "x").unwrap_err();
        assert_eq!(error.line, 2, "{error:?}");
    }
}
