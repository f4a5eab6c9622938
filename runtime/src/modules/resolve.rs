//! Node's module resolution (CommonJS `require` and ESM `import`) over `ModuleFiles`: relative paths,
//! `node_modules` lookup up the tree, `package.json` `exports` (with conditions), `main` and `module`.

use super::{ModuleFiles, NODE_BUILTINS};
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    CommonJs,
    Esm,
    Json,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::CommonJs => "cjs",
            FileKind::Esm => "esm",
            FileKind::Json => "json",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// A Node built-in (`fs`, `path`) or one of ours (`actionflow:ses`).
    Builtin(String),
    File {
        path: String,
        kind: FileKind,
    },
}

#[derive(Debug, Error)]
pub(crate) enum ResolveError {
    #[error("Cannot find module '{request}' from '{parent}'")]
    NotFound { request: String, parent: String },
    #[error("Package subpath '{subpath}' is not defined by \"exports\" in {package}/package.json")]
    NotExported { subpath: String, package: String },
}

/// Resolves `request` as written in the file at `parent` (a virtual path such as `/action.js`).
pub(crate) fn resolve(
    files: &dyn ModuleFiles,
    request: &str,
    parent: &str,
    import: bool,
) -> Result<Resolved, ResolveError> {
    if let Some(name) = request.strip_prefix("node:") {
        return Ok(Resolved::Builtin(name.to_owned()));
    }
    if request.starts_with("actionflow:") || NODE_BUILTINS.contains(&request) {
        return Ok(Resolved::Builtin(request.to_owned()));
    }
    let not_found = || ResolveError::NotFound {
        request: request.to_owned(),
        parent: parent.to_owned(),
    };
    let dir = dirname(parent);
    let path = if request.starts_with('/')
        || request.starts_with("./")
        || request.starts_with("../")
        || request == "."
        || request == ".."
    {
        let target = normalize(&format!("{dir}/{request}")).ok_or_else(not_found)?;
        load_as_file(files, &target).or_else(|| load_as_directory(files, &target, import))
    } else {
        load_node_modules(files, request, dir, import)?
    };
    let path = path.ok_or_else(not_found)?;
    let kind = kind_of(files, &path);
    Ok(Resolved::File { path, kind })
}

fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "",
        Some(i) => &path[..i],
    }
}

/// Collapses `.` and `..`; `None` when the path climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

fn load_as_file(files: &dyn ModuleFiles, path: &str) -> Option<String> {
    if files.is_file(path) {
        return Some(path.to_owned());
    }
    [".js", ".json", ".cjs", ".mjs"]
        .iter()
        .map(|ext| format!("{path}{ext}"))
        .find(|p| files.is_file(p))
}

fn read_json(files: &dyn ModuleFiles, path: &str) -> Option<Value> {
    files.read(path).and_then(|s| serde_json::from_str(&s).ok())
}

fn load_as_directory(files: &dyn ModuleFiles, dir: &str, import: bool) -> Option<String> {
    if let Some(pkg) = read_json(files, &format!("{dir}/package.json")) {
        let fields: &[&str] = if import {
            &["module", "main"]
        } else {
            &["main"]
        };
        for field in fields {
            if let Some(main) = pkg.get(*field).and_then(Value::as_str) {
                let Some(target) = normalize(&format!("{dir}/{main}")) else {
                    continue;
                };
                if let Some(found) =
                    load_as_file(files, &target).or_else(|| load_index(files, &target))
                {
                    return Some(found);
                }
            }
        }
    }
    load_index(files, dir)
}

fn load_index(files: &dyn ModuleFiles, dir: &str) -> Option<String> {
    ["index.js", "index.json", "index.cjs", "index.mjs"]
        .iter()
        .map(|f| format!("{dir}/{f}"))
        .find(|p| files.is_file(p))
}

/// `lodash/fp` → (`lodash`, `./fp`); `@scope/pkg/x` → (`@scope/pkg`, `./x`).
fn split_package(request: &str) -> (&str, String) {
    let mut ends = request.match_indices('/').map(|(i, _)| i);
    let end = if request.starts_with('@') {
        ends.nth(1)
    } else {
        ends.next()
    };
    match end {
        Some(i) => (&request[..i], format!(".{}", &request[i..])),
        None => (request, ".".to_owned()),
    }
}

fn load_node_modules(
    files: &dyn ModuleFiles,
    request: &str,
    start: &str,
    import: bool,
) -> Result<Option<String>, ResolveError> {
    let (name, subpath) = split_package(request);
    let mut dir = start;
    loop {
        if !dir.ends_with("/node_modules") {
            let pkg_dir = format!("{dir}/node_modules/{name}");
            if files.is_dir(&pkg_dir) {
                return load_package(files, &pkg_dir, &subpath, import).map(Some);
            }
        }
        if dir.is_empty() {
            return Ok(None);
        }
        dir = dirname(dir);
    }
}

fn load_package(
    files: &dyn ModuleFiles,
    pkg_dir: &str,
    subpath: &str,
    import: bool,
) -> Result<String, ResolveError> {
    let not_exported = || ResolveError::NotExported {
        subpath: subpath.to_owned(),
        package: pkg_dir.to_owned(),
    };
    let pkg = read_json(files, &format!("{pkg_dir}/package.json"));
    if let Some(exports) = pkg.as_ref().and_then(|p| p.get("exports")) {
        let conditions: &[&str] = if import {
            &["import", "node", "default"]
        } else {
            &["require", "node", "default"]
        };
        let target = match_exports(exports, subpath, conditions).ok_or_else(not_exported)?;
        let path = normalize(&format!("{pkg_dir}/{target}")).ok_or_else(not_exported)?;
        return if files.is_file(&path) {
            Ok(path)
        } else {
            Err(not_exported())
        };
    }
    let target = if subpath == "." {
        pkg_dir.to_owned()
    } else {
        format!("{pkg_dir}/{}", &subpath[2..])
    };
    let found = if subpath == "." {
        None
    } else {
        load_as_file(files, &target)
    };
    found
        .or_else(|| load_as_directory(files, &target, import))
        .ok_or_else(not_exported)
}

/// Finds the target of `subpath` in a package's `exports`, with Node's pattern (`./*`) rules.
fn match_exports(exports: &Value, subpath: &str, conditions: &[&str]) -> Option<String> {
    let is_subpath_map = exports
        .as_object()
        .is_some_and(|m| m.keys().all(|k| k.starts_with('.')) && !m.is_empty());
    if !is_subpath_map {
        return if subpath == "." {
            resolve_target(exports, "", conditions)
        } else {
            None
        };
    }
    let map = exports.as_object()?;
    if let Some(target) = map.get(subpath) {
        return resolve_target(target, "", conditions);
    }
    // Longest matching pattern key ("./features/*.js") wins.
    let mut best: Option<(&str, &Value, String)> = None;
    for (key, target) in map {
        let Some(star) = key.find('*') else { continue };
        let (prefix, suffix) = (&key[..star], &key[star + 1..]);
        if subpath.len() >= prefix.len() + suffix.len()
            && subpath.starts_with(prefix)
            && subpath.ends_with(suffix)
        {
            let matched = subpath[prefix.len()..subpath.len() - suffix.len()].to_owned();
            if best.as_ref().is_none_or(|(k, _, _)| key.len() > k.len()) {
                best = Some((key, target, matched));
            }
        }
    }
    let (_, target, matched) = best?;
    resolve_target(target, &matched, conditions)
}

fn resolve_target(target: &Value, star: &str, conditions: &[&str]) -> Option<String> {
    match target {
        Value::String(s) if s.starts_with("./") => Some(s.replace('*', star)),
        Value::Array(items) => items
            .iter()
            .find_map(|t| resolve_target(t, star, conditions)),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| conditions.contains(&k.as_str()))
            .find_map(|(_, t)| resolve_target(t, star, conditions)),
        _ => None,
    }
}

/// `.mjs` is ESM, `.cjs` CommonJS, `.json` JSON; `.js` follows the nearest package.json's `type`.
fn kind_of(files: &dyn ModuleFiles, path: &str) -> FileKind {
    if path.ends_with(".json") {
        return FileKind::Json;
    }
    if path.ends_with(".mjs") {
        return FileKind::Esm;
    }
    if path.ends_with(".cjs") {
        return FileKind::CommonJs;
    }
    let mut dir = dirname(path);
    while !dir.is_empty() {
        if let Some(pkg) = read_json(files, &format!("{dir}/package.json")) {
            let esm = pkg.get("type").and_then(Value::as_str) == Some("module");
            return if esm {
                FileKind::Esm
            } else {
                FileKind::CommonJs
            };
        }
        dir = dirname(dir);
    }
    FileKind::CommonJs
}
