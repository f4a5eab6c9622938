//! Generated dependency graphs (shared and conflicting ranges) and an `npm install` runner, used by the
//! npm parity test and the benchmark.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::tgz::{tgz, Entry};
use super::Registry;

/// A small deterministic pseudo-random generator (graphs must be identical on every run).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below
    }
}

fn package_files(name: &str, version: &str, rng: &mut Lcg, files: usize) -> Vec<u8> {
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
    for f in 0..files {
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

/// Packages `p00…`, versions 1.0.0, 1.1.0, 1.2.0-beta.1, 2.0.0; each depends on 0–3 later names with
/// mostly `^1.0.0`, some `^2.0.0`, `~1.0.0`, `>=1.1.0 <2` or `1.x || 2.x`, so most copies dedupe and some
/// must nest. Returns the registry and the root's dependencies.
pub fn generate(
    seed: u64,
    names: usize,
    root_deps: usize,
    files: usize,
    cycles: bool,
) -> (Registry, BTreeMap<String, String>) {
    let mut rng = Lcg(seed);
    let mut registry = Registry::new();
    for i in 0..names {
        let name = format!("p{i:02}");
        for version in ["1.0.0", "1.1.0", "1.2.0-beta.1", "2.0.0"] {
            let tarball = package_files(&name, version, &mut rng, files);
            let publish = registry.publish(&name, version);
            publish.tarball(tarball);
            let later = names - i - 1;
            for _ in 0..rng.next(4).min(later) {
                // Mostly later names; with `cycles`, one in eight points anywhere (cycles, self-references).
                let target = if cycles && rng.next(8) == 0 {
                    rng.next(names)
                } else {
                    i + 1 + rng.next(later)
                };
                let dep = format!("p{target:02}");
                let range = match rng.next(12) {
                    0 | 1 => "^2.0.0",
                    2 => "~1.0.0",
                    3 => ">=1.1.0 <2",
                    4 => "1.x || 2.x",
                    _ => "^1.0.0",
                };
                publish.dep(&dep, range);
            }
        }
    }
    let step = (names / root_deps).max(1);
    let root = (0..root_deps)
        .map(|i| {
            (
                format!("p{:02}", (i * step) % names),
                if i % 4 == 0 { "^2" } else { "^1" }.to_string(),
            )
        })
        .collect();
    (registry, root)
}

/// Whether an `npm` executable answers.
pub async fn npm_available() -> bool {
    tokio::process::Command::new("npm")
        .arg("--version")
        .output()
        .await
        .is_ok_and(|o| o.status.success())
}

/// Runs `npm install --ignore-scripts --no-audit --no-fund` for `root` in `dir` against `url` with an empty
/// cache of its own; returns the time taken and the lockfile's `key → version`.
pub async fn npm_install(
    url: &str,
    root: &BTreeMap<String, String>,
    dir: &Path,
) -> (Duration, BTreeMap<String, String>) {
    std::fs::create_dir_all(dir).unwrap();
    let manifest = serde_json::json!({"name": "npm-baseline", "version": "1.0.0", "private": true, "dependencies": root});
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
    let tree = lock["packages"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| !k.is_empty() && installable_here(v))
        .map(|(k, v)| (k.clone(), v["version"].as_str().unwrap().to_string()))
        .collect();
    (elapsed, tree)
}

/// npm keeps other platforms' optional packages (e.g. `fsevents`, `os: ["darwin"]`) in its lockfile but
/// not on disk; we leave them out of the lockfile. Compare what is installed here.
fn installable_here(entry: &serde_json::Value) -> bool {
    let allows = |field: &str, here: &str| match entry[field].as_array() {
        Some(list) => {
            let names: Vec<&str> = list.iter().filter_map(|v| v.as_str()).collect();
            let excluded = names.iter().any(|n| n.strip_prefix('!') == Some(here));
            let includes: Vec<&&str> = names.iter().filter(|n| !n.starts_with('!')).collect();
            !excluded && (includes.is_empty() || includes.iter().any(|n| **n == here))
        }
        None => true,
    };
    let cpu = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x64"
    };
    allows("os", std::env::consts::OS) && allows("cpu", cpu)
}

/// `key → version` of a lockfile, comparable with [`npm_install`]'s.
pub fn tree_of(lockfile: &actionflow_registry::Lockfile) -> BTreeMap<String, String> {
    lockfile
        .packages
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.clone(), v.version.clone().unwrap()))
        .collect()
}

/// Lines describing where two trees differ (empty when identical).
pub fn tree_diff(npm: &BTreeMap<String, String>, ours: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, version) in npm {
        if ours.get(key) != Some(version) {
            out.push(format!("npm only: {key} {version}"));
        }
    }
    for (key, version) in ours {
        if npm.get(key) != Some(version) {
            out.push(format!("actionflow only: {key} {version}"));
        }
    }
    out
}
