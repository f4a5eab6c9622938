//! Real packages from the registry in the machine's npm configuration. Runs only when
//! `ACTIONFLOW_TEST_NPM_REGISTRY=1` (CI sets it); otherwise each test prints a note and returns.

use std::collections::BTreeMap;
use std::path::PathBuf;

use actionflow_registry::{
    discover, install, DiscoveryInputs, HttpOptions, HttpSource, Installation, NetworkMode,
    ResolveOptions,
};

use crate::support::temp_cache;

fn enabled(test: &str) -> bool {
    let on = std::env::var("ACTIONFLOW_TEST_NPM_REGISTRY").is_ok_and(|v| v == "1");
    if !on {
        println!("{test}: skipped (set ACTIONFLOW_TEST_NPM_REGISTRY=1 to run against the configured npm registry)");
    }
    on
}

fn real_source() -> HttpSource {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let inputs = DiscoveryInputs {
        registry_flag: None,
        project_dir: std::env::current_dir().ok(),
        home_dir: env.get("HOME").map(PathBuf::from),
        env,
        npm_program: None,
    };
    let config = discover(&inputs).expect("the machine's npm configuration names a registry");
    println!("registry: {} (from {})", config.registry, config.origin);
    HttpSource::new(config, HttpOptions::default()).unwrap()
}

/// The file `require`/`import` of the bare package name would load, per `exports` / `main` / `index.js`.
fn entry_file(package_json: &serde_json::Value) -> String {
    let exports = &package_json["exports"];
    let dot = if exports.is_object() && exports.get(".").is_some() {
        &exports["."]
    } else {
        exports
    };
    let mut target = dot;
    while target.is_object() {
        target = ["import", "require", "node", "default"]
            .iter()
            .map(|k| &target[*k])
            .find(|v| !v.is_null())
            .unwrap_or(&serde_json::Value::Null);
    }
    if let Some(path) = target.as_str() {
        return path.trim_start_matches("./").to_string();
    }
    let main = package_json["main"]
        .as_str()
        .unwrap_or("index.js")
        .trim_start_matches("./");
    if main.ends_with(".js") || main.ends_with(".cjs") || main.ends_with(".mjs") {
        main.to_string()
    } else {
        format!("{main}.js")
    }
}

/// One root package: the expected major, a registry tarball with sha512 integrity, and its entry file
/// present in the unpacked directory.
fn check_package(installed: &Installation, registry: &str, name: &str, major: &str) {
    let entry = &installed.resolution.lockfile.packages[&format!("node_modules/{name}")];
    assert!(
        entry.version.as_deref().unwrap().starts_with(major),
        "{name}: {entry:?}"
    );
    let resolved = entry.resolved.as_deref().unwrap();
    assert!(
        resolved.starts_with(registry) && resolved.ends_with(".tgz"),
        "{resolved}"
    );
    assert!(
        entry.integrity.as_deref().unwrap().starts_with("sha512-"),
        "{name}: {entry:?}"
    );
    let package = &installed.tree.packages[&format!("node_modules/{name}")];
    let manifest = read_manifest(&package.dir);
    assert_eq!(manifest["name"], name);
    let main = entry_file(&manifest);
    assert!(
        package.dir.join(&main).is_file(),
        "{name}: {main} missing in {}",
        package.dir.display()
    );
}

fn read_manifest(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("package.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn real_packages_resolve_download_and_lay_out() {
    if !enabled("real_packages_resolve_download_and_lay_out") {
        return;
    }
    let source = real_source();
    let (_dir, cache) = temp_cache();
    let majors = [
        ("lodash", "^4", "4."),
        ("ms", "2", "2."),
        ("uuid", "9", "9."),
        ("dayjs", "1", "1."),
        ("validator", "13", "13."),
        ("nanoid", "5", "5."),
        ("debug", "4", "4."),
    ];
    let wanted: BTreeMap<String, String> = majors
        .iter()
        .map(|(n, r, _)| (n.to_string(), r.to_string()))
        .collect();
    let installed = install(&source, &cache, &wanted, &ResolveOptions::default())
        .await
        .unwrap();
    let lock = &installed.resolution.lockfile;
    println!("{}", lock.to_json());
    for (name, _, major) in majors {
        check_package(&installed, source.config().registry.as_str(), name, major);
    }
    // debug@4 depends on ms@^2.1: deduplicated with the root's ms, not nested.
    assert!(
        lock.packages
            .keys()
            .all(|k| !k.contains("/node_modules/ms")),
        "{:?}",
        lock.packages.keys()
    );
    assert!(lock.packages["node_modules/debug"]
        .dependencies
        .contains_key("ms"));
    // nanoid 5 is ESM-only.
    assert_eq!(
        read_manifest(&installed.tree.packages["node_modules/nanoid"].dir)["type"],
        "module"
    );
    // None of these has run-time dependencies beyond debug → ms: the set is small and fully locked.
    assert!(
        lock.packages.len() <= 12,
        "{:?}",
        lock.packages.keys().collect::<Vec<_>>()
    );

    let offline = ResolveOptions {
        network: NetworkMode::Offline,
        ..ResolveOptions::default()
    };
    let again = install(&source, &cache, &wanted, &offline).await.unwrap();
    assert_eq!(again.resolution.lockfile, *lock);
    assert_eq!(
        (again.resolution.packument_requests, again.fetch.downloaded),
        (0, 0)
    );
}

/// Real, large trees (≈400 packages with shared and conflicting ranges, optional and platform-specific
/// dependencies): our tree must be npm's, key for key and version for version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_trees_match_npm() {
    if !enabled("real_trees_match_npm") {
        return;
    }
    let source = real_source();
    let (dir, cache) = temp_cache();
    let wanted: BTreeMap<String, String> = [
        ("express", "^4"),
        ("eslint", "^8"),
        ("@babel/core", "^7"),
        ("jest", "^29"),
        ("axios", "^1"),
        ("jsonwebtoken", "^9"),
    ]
    .iter()
    .map(|(n, r)| (n.to_string(), r.to_string()))
    .collect();
    let started = std::time::Instant::now();
    let ours = install(&source, &cache, &wanted, &ResolveOptions::default())
        .await
        .unwrap();
    let ours_elapsed = started.elapsed();
    let registry = source.config().registry.to_string();
    let (npm_elapsed, npm) =
        crate::support::graph::npm_install(&registry, &wanted, &dir.path().join("npm")).await;
    println!(
        "cold install from the real registry: actionflow {} packages in {:.1} s, npm {} packages in {:.1} s",
        ours.tree.packages.len(),
        ours_elapsed.as_secs_f64(),
        npm.len(),
        npm_elapsed.as_secs_f64()
    );
    let diff = crate::support::graph::tree_diff(
        &npm,
        &crate::support::graph::tree_of(&ours.resolution.lockfile),
    );
    assert!(
        diff.is_empty(),
        "{} packages from npm, {} from us:\n{}",
        npm.len(),
        ours.tree.packages.len(),
        diff.join("\n")
    );
}
