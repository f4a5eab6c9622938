//! Resolution + download benchmark: a generated ≈100-package tree served by the local test registry,
//! installed cold (empty cache) and warm (everything cached) by actionflow-registry, and cold by
//! `npm install --ignore-scripts --no-audit --no-fund` against the same registry. Prints a table.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use actionflow_registry::{
    ensure_cached, install, layout, resolve, Cache, HttpSource, Installation, ResolveOptions,
};
use support::graph::{generate, npm_available, npm_install, tree_diff, tree_of};

const SEED: u64 = 42;
const NAMES: usize = 160;
const ROOT_DEPS: usize = 20;
const FILES_PER_PACKAGE: usize = 8;
const COLD_RUNS: usize = 3;
const WARM_RUNS: usize = 20;

/// Medians of each scenario.
struct Timings {
    cold: Duration,
    cold_resolve: Duration,
    cold_fetch: Duration,
    warm: Duration,
    layout: Duration,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let (registry, root) = generate(SEED, NAMES, ROOT_DEPS, FILES_PER_PACKAGE, true);
    let server = registry.serve().await;
    let source = support::source_for(&server.url);
    let scratch = tempfile::tempdir().unwrap();
    let (installed, timings) = measure(&source, &root, scratch.path()).await;
    let requests = server.request_count();
    let lockfile = &installed.resolution.lockfile;
    let nested = lockfile
        .packages
        .keys()
        .filter(|k| k.matches("node_modules/").count() > 1)
        .count();
    println!(
        "tree: {} packages ({nested} nested by conflicts), {} distinct tarballs, {} KiB unpacked, {requests} requests served",
        lockfile.packages.len() - 1,
        installed.fetch.downloaded + installed.fetch.cached,
        installed.fetch.unpacked_bytes / 1024
    );
    println!();
    println!("| scenario | time |");
    println!("| --- | --- |");
    println!("| actionflow resolve + download + layout, cold (empty cache, median of {COLD_RUNS}) | {} |", ms(timings.cold));
    println!(
        "| another cold run, phase 1: resolution (packuments) | {} |",
        ms(timings.cold_resolve)
    );
    println!(
        "| another cold run, phase 2: download + verify + unpack | {} |",
        ms(timings.cold_fetch)
    );
    println!("| actionflow resolve + layout, warm (all cached, no network, median of {WARM_RUNS}) | {} |", ms(timings.warm));
    println!(
        "| actionflow layout from lockfile only (median of {WARM_RUNS}) | {} |",
        ms(timings.layout)
    );
    if npm_available().await {
        let (npm, npm_tree) = npm_install(&server.url, &root, &scratch.path().join("npm")).await;
        println!(
            "| npm install --ignore-scripts --no-audit --no-fund, cold (empty --cache) | {} |",
            ms(npm)
        );
        println!();
        println!(
            "ratio npm / actionflow (cold): {:.1}x",
            npm.as_secs_f64() / timings.cold.as_secs_f64()
        );
        let diff = tree_diff(&npm_tree, &tree_of(lockfile));
        println!(
            "same node_modules tree as npm ({} packages): {}",
            npm_tree.len(),
            if diff.is_empty() { "yes" } else { "NO" }
        );
        for line in diff {
            println!("  {line}");
        }
    } else {
        println!();
        println!("npm baseline skipped: npm is not installed");
    }
    let verdict = if timings.warm < Duration::from_millis(50) {
        "met"
    } else {
        "MISSED"
    };
    println!("target warm < 50 ms: {verdict}");
    server.stop().await;
}

/// Cold installs on fresh caches, one cold run split in phases, then warm installs and layouts on the
/// last cache (asserting that warm runs do not touch the network).
async fn measure(
    source: &HttpSource,
    root: &BTreeMap<String, String>,
    scratch: &Path,
) -> (Installation, Timings) {
    let options = ResolveOptions::default();
    let mut cold = Vec::new();
    let mut last = None;
    for run in 0..COLD_RUNS {
        let cache = Cache::open(scratch.join(format!("cold-{run}"))).unwrap();
        let started = Instant::now();
        let installed = install(source, &cache, root, &options).await.unwrap();
        cold.push(started.elapsed());
        last = Some((cache, installed));
    }
    let (cache, installed) = last.unwrap();
    let split_cache = Cache::open(scratch.join("split")).unwrap();
    let started = Instant::now();
    let resolution = resolve(source, &split_cache, root, &options).await.unwrap();
    let cold_resolve = started.elapsed();
    let started = Instant::now();
    ensure_cached(source, &split_cache, &resolution.lockfile, &options)
        .await
        .unwrap();
    let cold_fetch = started.elapsed();
    let mut warm = Vec::new();
    for _ in 0..WARM_RUNS {
        let started = Instant::now();
        let again = install(source, &cache, root, &options).await.unwrap();
        warm.push(started.elapsed());
        assert_eq!(
            again.resolution.packument_requests + again.fetch.downloaded,
            0,
            "a warm run used the network"
        );
        assert_eq!(again.resolution.lockfile, installed.resolution.lockfile);
    }
    let mut layouts = Vec::new();
    for _ in 0..WARM_RUNS {
        let started = Instant::now();
        layout(&installed.resolution.lockfile, &cache).unwrap();
        layouts.push(started.elapsed());
    }
    let timings = Timings {
        cold: median(cold),
        cold_resolve,
        cold_fetch,
        warm: median(warm),
        layout: median(layouts),
    };
    (installed, timings)
}
