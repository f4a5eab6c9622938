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
