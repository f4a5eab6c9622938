//! Embeds the JavaScript of the Node layer's extensions (deno_web … deno_node) in the binary.
//!
//! deno_core 0.413 records an extension's files by their path in the crate's source folder and reads
//! them when a snapshot is made; our snapshot is made at run time (in the server and in every sandbox
//! process, which may read nothing but its package cache), so the sources must travel inside the
//! binary. This script reads each file once, strips TypeScript to JavaScript (deno_ast, as Deno's own
//! build does), and writes a table of `(specifier, text)` that `src/node/sources.rs` includes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "src/node/no_npm.rs"]
#[allow(dead_code)]
mod no_npm;

use deno_ast::{EmitOptions, MediaType, ParseParams, SourceMapOption, TranspileModuleOptions};
use deno_core::{Extension, ExtensionFileSourceCode};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The Node version the polyfills report (Auth0 Actions run Node 22); `js/05_node.js` sets the
/// same on `process.version`.
const NODE_VERSION: &str = "22.14.0";

fn extensions() -> Vec<Extension> {
    vec![
        deno_telemetry::deno_telemetry::lazy_init(),
        deno_webidl::deno_webidl::lazy_init(),
        deno_web::deno_web::lazy_init(),
        deno_fetch::deno_fetch::lazy_init(),
        deno_crypto::deno_crypto::lazy_init(),
        deno_net::deno_net::lazy_init(),
        deno_tls::deno_tls::lazy_init(),
        deno_io::deno_io::lazy_init(),
        deno_fs::deno_fs::lazy_init(),
        deno_os::deno_os::lazy_init(),
        deno_process::deno_process::lazy_init(),
        deno_node_crypto::deno_node_crypto::lazy_init(),
        deno_node::deno_node::lazy_init::<
            no_npm::NoNpmPackages,
            no_npm::NoNpmPackages,
            sys_traits::impls::InMemorySys,
        >(),
    ]
}

/// `file` names the source (its path; a specifier such as `node:process` may not end in `.ts`).
fn transpile(specifier: &str, file: &str, text: String) -> String {
    let media_type = MediaType::from_str(file);
    if !matches!(media_type, MediaType::TypeScript | MediaType::Mts) {
        return text;
    }
    let parsed = deno_ast::parse_module(ParseParams {
        specifier: url::Url::parse(specifier).expect("extension specifiers are URLs"),
        text: text.replace("__NODE_VERSION__", NODE_VERSION).into(),
        media_type,
        capture_tokens: false,
        scope_analysis: false,
        maybe_syntax: None,
    })
    .unwrap_or_else(|e| panic!("{specifier} does not parse: {e}"));
    parsed
        .transpile(
            &deno_ast::TranspileOptions {
                imports_not_used_as_values: deno_ast::ImportsNotUsedAsValues::Remove,
                ..Default::default()
            },
            &TranspileModuleOptions::default(),
            &EmitOptions {
                source_map: SourceMapOption::None,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{specifier} does not transpile: {e}"))
        .into_source()
        .text
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/node/no_npm.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let dir = out.join("node_js");
    std::fs::create_dir_all(&dir).unwrap();
    let mut table: Vec<(String, String)> = Vec::new();
    for ext in extensions() {
        let files = ext
            .js_files
            .iter()
            .chain(ext.esm_files.iter())
            .chain(ext.lazy_loaded_esm_files.iter())
            .chain(ext.lazy_loaded_js_files.iter());
        for file in files {
            #[allow(deprecated)]
            let (path, text) = match &file.code {
                ExtensionFileSourceCode::LoadedFromFsDuringSnapshot(path) => (
                    *path,
                    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")),
                ),
                ExtensionFileSourceCode::IncludedInBinary(s)
                | ExtensionFileSourceCode::LoadedFromMemoryDuringSnapshot(s) => {
                    (file.specifier, s.to_string())
                }
                ExtensionFileSourceCode::Computed(s) => (file.specifier, s.to_string()),
            };
            let js = transpile(file.specifier, path, text);
            assert!(js.is_ascii(), "{} is not ASCII", file.specifier);
            let name = format!("{}.js", table.len());
            std::fs::write(dir.join(&name), js).unwrap();
            table.push((file.specifier.to_owned(), name));
        }
    }
    table.sort();
    table.dedup_by(|a, b| a.0 == b.0);
    let mut code = String::from("&[\n");
    for (specifier, name) in &table {
        writeln!(
            code,
            "    ({specifier:?}, deno_core::ascii_str_include!(concat!(env!(\"OUT_DIR\"), \"/node_js/{name}\"))),"
        )
        .unwrap();
    }
    code.push(']');
    std::fs::write(out.join("node_sources.rs"), code).unwrap();
}
