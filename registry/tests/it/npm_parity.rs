//! The same generated graphs installed by npm and by us give the same `node_modules` tree (keys and
//! versions). Needs npm: without it each test prints a note and returns.

use actionflow_registry::{resolve, ResolveOptions};

use crate::support::graph::{generate, npm_available, npm_install, tree_diff, tree_of};
use crate::support::{source_for, temp_cache};

async fn parity(seed: u64, names: usize, root_deps: usize, cycles: bool) {
    if !npm_available().await {
        println!("npm parity (seed {seed}): skipped, npm is not installed");
        return;
    }
    let (registry, root) = generate(seed, names, root_deps, 1, cycles);
    let server = registry.serve().await;
    let (dir, cache) = temp_cache();
    let ours = resolve(
        &source_for(&server.url),
        &cache,
        &root,
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    let (_, npm) = npm_install(&server.url, &root, &dir.path().join("npm")).await;
    let ours = tree_of(&ours.lockfile);
    let nested = ours
        .keys()
        .filter(|k| k.matches("node_modules/").count() > 1)
        .count();
    assert!(
        nested > 0,
        "seed {seed}: the graph should force some nesting"
    );
    let diff = tree_diff(&npm, &ours);
    assert!(
        diff.is_empty(),
        "seed {seed}: {} packages from npm, {} from us:\n{}",
        npm.len(),
        ours.len(),
        diff.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_tree_as_npm_seed_7() {
    parity(7, 40, 8, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_tree_as_npm_seed_2024() {
    parity(2024, 50, 12, true).await;
}

/// Every range form, dist-tags, deprecated versions and prerelease `latest`, through `npm:` aliases so one
/// `npm install` answers them all: npm's choice and ours must agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_choice_matches_npm() {
    if !npm_available().await {
        println!("npm version choice: skipped, npm is not installed");
        return;
    }
    let r = choice_registry();
    let ranges = [
        "^1.2.3",
        "~1.2.3",
        "1.2.3",
        "=1.2.3",
        "v1.2.3",
        "1",
        "1.x",
        "1.2.x",
        "1.2.*",
        "*",
        "x",
        "1.0.0 - 1.2.3",
        "1.0 - 1.2",
        "^0.9.0 || ~1.2.3",
        "<1.0.0 || >=1.3.0 <1.4.0",
        ">=1.2.3 <1.3.0",
        ">1.2.3 <=1.3.0",
        "<1.0.0",
        "^0.9",
        "~1",
        "^2",
        ">=2.2.0",
        "^2.0.0-beta.1",
        ">=2.0.0-beta.0 <2.0.0",
        ">=3.0.0-rc.0",
        "latest",
        "next",
    ];
    let mut root: std::collections::BTreeMap<String, String> = ranges
        .iter()
        .enumerate()
        .map(|(i, range)| (format!("r{i:02}"), format!("npm:r@{range}")))
        .collect();
    for (alias, spec) in [
        ("d1", "npm:dep@^1"),
        ("d2", "npm:all@^1"),
        ("d3", "npm:pre@*"),
        ("d4", "npm:pre@^1"),
    ] {
        root.insert(alias.into(), spec.into());
    }
    let server = r.serve().await;
    let (dir, cache) = temp_cache();
    let ours = resolve(
        &source_for(&server.url),
        &cache,
        &root,
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    let (_, npm) = npm_install(&server.url, &root, &dir.path().join("npm")).await;
    let diff = tree_diff(&npm, &tree_of(&ours.lockfile));
    let explain: Vec<String> = diff
        .iter()
        .map(|line| {
            let alias = line
                .split("node_modules/")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .unwrap_or("");
            format!(
                "{line}   ({alias} = {})",
                root.get(alias).map_or("?", String::as_str)
            )
        })
        .collect();
    assert!(diff.is_empty(), "{}", explain.join("\n"));
}

/// The packages of `version_choice_matches_npm`: a long version list with tags, deprecated versions, and a
/// prerelease `latest`.
fn choice_registry() -> crate::support::Registry {
    let mut r = crate::support::Registry::new();
    for v in [
        "0.9.0",
        "1.0.0",
        "1.2.3",
        "1.2.4",
        "1.3.0",
        "1.10.0",
        "2.0.0-beta.1",
        "2.0.0",
        "2.1.0",
        "2.2.0",
        "3.0.0-rc.1",
    ] {
        r.publish("r", v);
    }
    r.tag("r", "latest", "2.1.0").tag("r", "next", "3.0.0-rc.1");
    r.publish("dep", "1.0.0");
    r.publish("dep", "1.1.0")
        .field("deprecated", serde_json::json!("use 1.0.0"));
    r.tag("dep", "latest", "1.1.0");
    r.publish("all", "1.0.0")
        .field("deprecated", serde_json::json!("gone"));
    r.publish("all", "1.1.0")
        .field("deprecated", serde_json::json!("gone"));
    r.publish("pre", "1.0.0");
    r.publish("pre", "2.0.0-rc.1");
    r.tag("pre", "latest", "2.0.0-rc.1");
    r
}
