//! What the code reads against what the manifest declares: every `event.secrets.X` and
//! `event.configuration.X` read must be declared, a declared one never read is a warning, a read
//! with a computed name goes to the reviewer. An ES module must parse, and re-exports from other
//! modules are refused (what they export is not in the reviewed file).

use crate::esm;
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::package::CODE_FILE;
use crate::report::Finding;
use crate::scan;

/// What the code reads against what the manifest declares.
pub(crate) fn read_findings(code: &str, manifest: &Manifest) -> Vec<Finding> {
    let mut out = Vec::new();
    match esm::analyze(code, false, "") {
        Ok(esm::Shape::Module(module)) => {
            for line in module.reexports {
                let message =
                    "re-exports from another module (export ... from) are not supported: \
                               import what you export and export it from integration.action.js";
                out.push(
                    Finding::error("esm_reexport", message)
                        .in_file(CODE_FILE)
                        .at_line(line),
                );
            }
        }
        Ok(esm::Shape::Script) => {}
        Err(e) => {
            let message = format!("the ES module does not parse: {}", e.message);
            out.push(
                Finding::error("code_invalid", message)
                    .in_file(CODE_FILE)
                    .at_line(e.line),
            );
        }
    }
    for (object, declared) in [
        (
            "secrets",
            manifest
                .secrets
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "configuration",
            manifest
                .configuration
                .iter()
                .map(|c| c.name.as_str())
                .collect(),
        ),
    ] {
        let reads = scan::reads(code, object);
        let singular = if object == "secrets" {
            "secret"
        } else {
            "configuration"
        };
        for (name, line) in &reads.names {
            if !declared.contains(&name.as_str()) {
                let message = format!(
                    "the code reads event.{object}.{name}, which integration.json does not declare"
                );
                out.push(
                    Finding::error(&format!("{singular}_not_declared"), message)
                        .in_file(CODE_FILE)
                        .at_line(*line),
                );
            }
        }
        for name in declared {
            if !reads.names.contains_key(name) && reads.dynamic.is_empty() {
                let message = format!("{object} {name} is declared but the code never reads it");
                out.push(
                    Finding::warning(&format!("{singular}_not_read"), message)
                        .in_file(MANIFEST_FILE),
                );
            }
        }
        for line in reads.dynamic {
            let message = format!(
                "event.{object} is read with a computed name: the reviewer checks it by hand"
            );
            out.push(
                Finding::warning("dynamic_read", message)
                    .in_file(CODE_FILE)
                    .at_line(line),
            );
        }
    }
    out
}
