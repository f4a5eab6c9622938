//! Tree shape: npm dedupe and hoisting, nesting on conflicts, cycles, optional and peer dependencies,
//! aliases, and the lockfile's determinism and round trip.

use std::collections::BTreeMap;

use actionflow_registry::{install, layout, resolve, Lockfile, ResolveOptions};

use crate::support::{deps, source_for, temp_cache, Registry};

fn versions(lockfile: &Lockfile) -> BTreeMap<String, String> {
    lockfile
        .packages
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, e)| (k.clone(), e.version.clone().unwrap()))
        .collect()
}

fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn dedupes_and_nests_only_on_conflict() {
    let mut r = Registry::new();
    r.publish("a", "1.0.0").dep("d", "^1");
    r.publish("b", "1.0.0").dep("d", "^2");
    r.publish("c", "1.0.0").dep("d", "^1.1");
    for v in ["1.0.0", "1.2.0", "2.0.0"] {
        r.publish("d", v);
    }
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let installed = install(
        &source_for(&server.url),
        &cache,
        &deps(&[("a", "^1"), ("b", "^1"), ("c", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    let lockfile = &installed.resolution.lockfile;
    assert_eq!(
        versions(lockfile),
        expected(&[
            ("node_modules/a", "1.0.0"),
            ("node_modules/b", "1.0.0"),
            ("node_modules/b/node_modules/d", "2.0.0"),
            ("node_modules/c", "1.0.0"),
            ("node_modules/d", "1.2.0"),
        ])
    );
    // The installed tree points at unpacked files with the top folder stripped.
    let nested = &installed.tree.packages["node_modules/b/node_modules/d"];
    assert_eq!(
        (nested.name.as_str(), nested.version.as_str()),
        ("d", "2.0.0")
    );
    let index = std::fs::read_to_string(nested.dir.join("index.js")).unwrap();
    assert!(index.contains("d@2.0.0"), "{index}");
    assert!(nested.dir.join("lib/util.js").is_file());
    assert_eq!(installed.tree.root_dependencies["a"], "node_modules/a");
    assert_eq!(installed.fetch.downloaded, 5);
}

#[tokio::test]
async fn a_nested_copy_goes_no_higher_than_its_dependents_allow() {
    let mut r = Registry::new();
    r.publish("a", "1.0.0").dep("b", "^1").dep("z", "^1");
    r.publish("b", "1.0.0").dep("z", "^2");
    r.publish("b", "2.0.0");
    r.publish("z", "1.0.0");
    r.publish("z", "2.0.0");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let resolution = resolve(
        &source_for(&server.url),
        &cache,
        &deps(&[("a", "^1"), ("b", "^2"), ("z", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    // b@1 cannot share the root's b@2, so it nests under a; its z@2 cannot go under a (a itself uses z@1
    // from the root), so it nests under b.
    assert_eq!(
        versions(&resolution.lockfile),
        expected(&[
            ("node_modules/a", "1.0.0"),
            ("node_modules/a/node_modules/b", "1.0.0"),
            ("node_modules/a/node_modules/b/node_modules/z", "2.0.0"),
            ("node_modules/b", "2.0.0"),
            ("node_modules/z", "1.0.0"),
        ])
    );
}

#[tokio::test]
async fn cycles_terminate_with_one_copy_each() {
    let mut r = Registry::new();
    r.publish("e", "1.0.0").dep("f", "^1");
    r.publish("f", "1.0.0").dep("e", "^1");
    r.publish("self-ref", "1.0.0").dep("self-ref", "^1");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let resolution = resolve(
        &source_for(&server.url),
        &cache,
        &deps(&[("e", "^1"), ("self-ref", "1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        versions(&resolution.lockfile),
        expected(&[
            ("node_modules/e", "1.0.0"),
            ("node_modules/f", "1.0.0"),
            ("node_modules/self-ref", "1.0.0")
        ])
    );
}

#[tokio::test]
async fn optional_dependencies_are_best_effort_and_peers_are_reported() {
    let mut r = Registry::new();
    r.publish("g", "1.0.0")
        .optional_dep("h", "^1")
        .optional_dep("missing-pkg", "^1")
        .optional_dep("k", "^9");
    r.publish("h", "1.0.0");
    r.publish("k", "1.0.0");
    r.publish("p", "1.0.0")
        .peer_dep("host", "^2")
        .peer_dep("absent", "^1");
    r.publish("host", "1.0.0");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let resolution = resolve(
        &source_for(&server.url),
        &cache,
        &deps(&[("g", "^1"), ("p", "^1"), ("host", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    let lock = &resolution.lockfile.packages;
    assert!(lock["node_modules/h"].optional);
    assert!(!lock["node_modules/g"].optional);
    assert!(!lock.contains_key("node_modules/missing-pkg") && !lock.contains_key("node_modules/k"));
    let warnings = resolution.warnings.join("\n");
    assert!(
        warnings.contains("missing-pkg") && warnings.contains("k@^9"),
        "{warnings}"
    );
    // Peers are not installed; the report says what is visible and whether it fits.
    assert_eq!(lock["node_modules/p"].peer_dependencies.len(), 2);
    let host = resolution.peers.iter().find(|p| p.peer == "host").unwrap();
    assert_eq!(
        (host.found.as_deref(), host.satisfied),
        (Some("1.0.0"), false)
    );
    let absent = resolution
        .peers
        .iter()
        .find(|p| p.peer == "absent")
        .unwrap();
    assert_eq!((absent.found.as_deref(), absent.satisfied), (None, false));
    assert!(
        warnings.contains("wants peer host@^2 but 1.0.0 is visible"),
        "{warnings}"
    );
    assert!(
        warnings.contains("wants peer absent@^1 but none is installed"),
        "{warnings}"
    );
}

#[tokio::test]
async fn aliases_install_under_their_alias() {
    let mut r = Registry::new();
    r.publish("real", "1.4.0");
    r.publish("@scope/thing", "2.0.0")
        .dep("inner", "npm:real@^1");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let installed = install(
        &source_for(&server.url),
        &cache,
        &deps(&[("nick", "npm:real@^1"), ("@scope/thing", "^2")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    let lock = &installed.resolution.lockfile.packages;
    assert_eq!(lock["node_modules/nick"].name.as_deref(), Some("real"));
    assert_eq!(lock["node_modules/inner"].name.as_deref(), Some("real"));
    assert_eq!(lock["node_modules/@scope/thing"].name, None);
    let nick = &installed.tree.packages["node_modules/nick"];
    assert_eq!(
        (nick.name.as_str(), nick.version.as_str()),
        ("real", "1.4.0")
    );
    assert_eq!(
        installed.tree.root_dependencies["@scope/thing"],
        "node_modules/@scope/thing"
    );
}

#[tokio::test]
async fn lockfile_is_deterministic_and_round_trips() {
    let mut r = Registry::new();
    r.publish("a", "1.0.0").dep("d", "^1").dep("c", "^1");
    r.publish("b", "1.0.0").dep("d", "^2");
    r.publish("c", "1.0.0");
    r.publish("d", "1.0.0");
    r.publish("d", "2.0.0");
    let server = r.serve().await;
    let source = source_for(&server.url);
    let wanted = deps(&[("b", "^1"), ("a", "^1")]);
    let (_d1, cache1) = temp_cache();
    let (_d2, cache2) = temp_cache();
    let first = resolve(&source, &cache1, &wanted, &ResolveOptions::default())
        .await
        .unwrap()
        .lockfile;
    let second = resolve(&source, &cache2, &wanted, &ResolveOptions::default())
        .await
        .unwrap()
        .lockfile;
    let text = first.to_json();
    assert_eq!(text, second.to_json());
    let parsed = Lockfile::from_json(&text).unwrap();
    assert_eq!(parsed, first);
    assert!(parsed.matches(&wanted));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["lockfileVersion"], 3);
    assert_eq!(json["packages"][""]["dependencies"]["a"], "^1");
    let d = &json["packages"]["node_modules/d"];
    assert_eq!(d["version"], "1.0.0");
    assert!(d["resolved"]
        .as_str()
        .unwrap()
        .ends_with("/tarballs/d-1.0.0.tgz"));
    assert!(d["integrity"].as_str().unwrap().starts_with("sha512-"));
    assert_eq!(
        json["packages"]["node_modules/a"]["dependencies"]["d"],
        "^1"
    );
    // Keys are sorted in the text.
    let at = |key: &str| text.find(&format!("\"{key}\": {{")).unwrap();
    assert!(at("") < at("node_modules/a") && at("node_modules/a") < at("node_modules/b"));
    assert!(
        at("node_modules/b") < at("node_modules/b/node_modules/d")
            && at("node_modules/b/node_modules/d") < at("node_modules/c")
    );
    // Nothing was downloaded by resolve alone, so layout says what is missing.
    let error = layout(&parsed, &cache1).unwrap_err().to_string();
    assert!(
        error.contains("node_modules/a") && error.contains("a@1.0.0"),
        "{error}"
    );
}

#[tokio::test]
async fn bundled_dependencies_come_from_the_tarball() {
    use crate::support::tgz::{tgz, Entry};
    let mut r = Registry::new();
    let tarball = tgz(&[
        Entry::file(
            "package/package.json",
            r#"{"name":"bundler","version":"1.0.0"}"#,
        ),
        Entry::file("package/index.js", "module.exports = require('inner');\n"),
        Entry::file(
            "package/node_modules/inner/index.js",
            "module.exports = 'bundled';\n",
        ),
    ]);
    // `inner` is not in the registry at all: resolving it would fail.
    r.publish("bundler", "1.0.0")
        .dep("inner", "^1")
        .dep("shared", "^1")
        .field("bundleDependencies", serde_json::json!(["inner"]))
        .tarball(tarball);
    r.publish("shared", "1.0.0");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let installed = install(
        &source_for(&server.url),
        &cache,
        &deps(&[("bundler", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        versions(&installed.resolution.lockfile),
        expected(&[
            ("node_modules/bundler", "1.0.0"),
            ("node_modules/shared", "1.0.0")
        ])
    );
    let dir = &installed.tree.packages["node_modules/bundler"].dir;
    assert!(dir.join("node_modules/inner/index.js").is_file());
}
