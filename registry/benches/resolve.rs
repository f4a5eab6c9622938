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

use actionflow_registry::{install, layout, Cache, Lockfile, ResolveOptions};
use support::tgz::{tgz, Entry};
use support::Registry;

const NAMES: usize = 60;
const ROOT_DEPS: usize = 10;
const COLD_RUNS: usize = 3;
const WARM_RUNS: usize = 20;

/// A small deterministic pseudo-random generator (the graph must be identical on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below
    }
}

fn package_files(name: &str, version: &str, rng: &mut Lcg) -> Vec<u8> {
    let manifest = serde_json::json!({"name": name, "version": version, "main": "index.js"});
    let mut entries = vec![
        Entry::file("package/package.json", &manifest.to_string()),
        Entry::file(
            "package/index.js",
            "module.exports = require('./lib/f0.js');\n",
        ),
        Entry::file(
            "package/README.md",
            &format!("# {name}\n\n{}\n", "Some documentation. ".repeat(40)),
        ),
    ];
    for f in 0..8 {
        let body: String = (0..60)
            .map(|i| {
                format!(
                    "exports.fn{i} = (x) => x * {} + {};\n",
                    rng.next(1000),
                    rng.next(1000)
                )
            })
            .collect();
        entries.push(Entry::file(&format!("package/lib/f{f}.js"), &body));
    }
    tgz(&entries)
}

/// Packages p00..p59, versions 1.0.0, 1.1.0, 2.0.0; each depends on 0–3 later names, mostly `^1`, some
/// `^2` or `~1.0.0`, so most copies dedupe and some must nest.
fn generate() -> (Registry, BTreeMap<String, String>) {
    let mut rng = Lcg(42);
    let mut registry = Registry::new();
    for i in 0..NAMES {
        let name = format!("p{i:02}");
        for version in ["1.0.0", "1.1.0", "2.0.0"] {
            let tarball = package_files(&name, version, &mut rng);
            let publish = registry.publish(&name, version);
            publish.tarball(tarball);
            let later = NAMES - i - 1;
            for _ in 0..rng.next(4).min(later) {
                let dep = format!("p{:02}", i + 1 + rng.next(later));
                let range = match rng.next(10) {
                    0 | 1 => "^2.0.0",
                    2 => "~1.0.0",
                    _ => "^1.0.0",
                };
                publish.dep(&dep, range);
            }
        }
    }
    let root = (0..ROOT_DEPS)
        .map(|i| {
            (
                format!("p{:02}", i * 3),
                if i % 4 == 0 { "^2" } else { "^1" }.to_string(),
            )
        })
        .collect();
    (registry, root)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn run_npm(
    url: &str,
    root: &BTreeMap<String, String>,
    dir: &Path,
) -> Option<(Duration, usize)> {
    let npm_ok = tokio::process::Command::new("npm")
        .arg("--version")
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    if !npm_ok {
        return None;
    }
    std::fs::create_dir_all(dir).unwrap();
    let manifest = serde_json::json!({"name": "bench", "version": "1.0.0", "private": true, "dependencies": root});
    std::fs::write(dir.join("package.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.join("empty-npmrc"), "").unwrap();
    let started = Instant::now();
    let output = tokio::process::Command::new("npm")
        .args([
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--no-update-notifier",
            "--loglevel=error",
        ])
        .arg(format!("--registry={url}"))
        .arg(format!("--cache={}", dir.join("npm-cache").display()))
        .arg(format!(
            "--userconfig={}",
            dir.join("empty-npmrc").display()
        ))
        .current_dir(dir)
        .output()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "npm install failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("package-lock.json")).unwrap()).unwrap();
    let count = lock["packages"].as_object().unwrap().len() - 1;
    Some((elapsed, count))
}

fn npm_tree(dir: &Path) -> BTreeMap<String, String> {
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("package-lock.json")).unwrap()).unwrap();
    lock["packages"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.clone(), v["version"].as_str().unwrap().to_string()))
        .collect()
}

fn our_tree(lockfile: &Lockfile) -> BTreeMap<String, String> {
    lockfile
        .packages
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.clone(), v.version.clone().unwrap()))
        .collect()
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
    let (registry, root) = generate();
    let server = registry.serve().await;
    let source = support::source_for(&server.url);
    let options = ResolveOptions::default();
    let scratch = tempfile::tempdir().unwrap();

    let mut cold = Vec::new();
    let mut last = None;
    for run in 0..COLD_RUNS {
        let cache = Cache::open(scratch.path().join(format!("cold-{run}"))).unwrap();
        let started = Instant::now();
        let installed = install(&source, &cache, &root, &options).await.unwrap();
        cold.push(started.elapsed());
        last = Some((cache, installed));
    }
    let (cache, installed) = last.unwrap();
    let lockfile = installed.resolution.lockfile.clone();
    let requests_before = server.request_count();
    let mut warm = Vec::new();
    for _ in 0..WARM_RUNS {
        let started = Instant::now();
        let again = install(&source, &cache, &root, &options).await.unwrap();
        warm.push(started.elapsed());
        assert_eq!(again.resolution.lockfile, lockfile);
    }
    assert_eq!(
        server.request_count(),
        requests_before,
        "the warm runs used the network"
    );
    let mut layouts = Vec::new();
    for _ in 0..WARM_RUNS {
        let started = Instant::now();
        layout(&lockfile, &cache).unwrap();
        layouts.push(started.elapsed());
    }
    let packages = lockfile.packages.len() - 1;
    let nested = lockfile
        .packages
        .keys()
        .filter(|k| k.matches("node_modules/").count() > 1)
        .count();
    let (cold, warm, layouts) = (median(cold), median(warm), median(layouts));

    println!(
        "tree: {packages} packages ({nested} nested by conflicts), {} KiB unpacked",
        installed.fetch.unpacked_bytes / 1024
    );
    println!();
    println!("| scenario | time |");
    println!("| --- | --- |");
    println!(
        "| actionflow resolve + download, cold (empty cache, median of {COLD_RUNS}) | {} |",
        ms(cold)
    );
    println!("| actionflow resolve + layout, warm (all cached, no network, median of {WARM_RUNS}) | {} |", ms(warm));
    println!(
        "| actionflow layout from lockfile (median of {WARM_RUNS}) | {} |",
        ms(layouts)
    );
    match run_npm(&server.url, &root, &scratch.path().join("npm")).await {
        Some((npm, npm_packages)) => {
            println!(
                "| npm install --ignore-scripts, cold (empty --cache) | {} |",
                ms(npm)
            );
            println!();
            println!(
                "npm installed {npm_packages} packages; ratio npm / actionflow cold = {:.1}x",
                npm.as_secs_f64() / cold.as_secs_f64()
            );
            let (theirs, ours) = (npm_tree(&scratch.path().join("npm")), our_tree(&lockfile));
            println!(
                "same node_modules tree as npm (keys and versions): {}",
                if theirs == ours { "yes" } else { "NO" }
            );
            for (key, version) in &theirs {
                if ours.get(key) != Some(version) {
                    println!("  npm only: {key} {version}");
                }
            }
            for (key, version) in &ours {
                if theirs.get(key) != Some(version) {
                    println!("  actionflow only: {key} {version}");
                }
            }
        }
        None => println!("\nnpm baseline skipped: npm is not installed"),
    }
    println!(
        "targets: cold at least as fast as npm; warm under 50 ms -> warm {}",
        if warm < Duration::from_millis(50) {
            "met"
        } else {
            "MISSED"
        }
    );
    server.stop().await;
}
