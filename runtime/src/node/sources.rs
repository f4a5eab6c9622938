//! The JavaScript of the Node layer's extensions, embedded by `build.rs`: deno_core would read it
//! from the deno crates' source folders whenever a snapshot is made, and a sandbox process may read
//! nothing but its package cache (nor may an installed binary rely on a build machine's folders).

use deno_core::{Extension, ExtensionFileSource, FastStaticString};
use std::borrow::Cow;

/// `(specifier, text)`, sorted by specifier; TypeScript already stripped.
static SOURCES: &[(&str, FastStaticString)] =
    include!(concat!(env!("OUT_DIR"), "/node_sources.rs"));

fn source(specifier: &str) -> Option<FastStaticString> {
    SOURCES
        .binary_search_by(|(s, _)| (*s).cmp(specifier))
        .ok()
        .map(|i| SOURCES[i].1)
}

/// Points every file of `ext` at its embedded text.
pub(crate) fn embed(mut ext: Extension) -> Extension {
    for list in [
        &mut ext.js_files,
        &mut ext.esm_files,
        &mut ext.lazy_loaded_esm_files,
        &mut ext.lazy_loaded_js_files,
    ] {
        if list.is_empty() {
            continue;
        }
        let files: Vec<ExtensionFileSource> = list
            .iter()
            .map(|f| match source(f.specifier) {
                Some(text) => ExtensionFileSource::new(f.specifier, text),
                None => f.clone(),
            })
            .collect();
        *list = Cow::Owned(files);
    }
    ext
}
