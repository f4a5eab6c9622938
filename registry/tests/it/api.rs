//! The library surface without HTTP: the in-memory source, command-line dependency parsing, lenient
//! manifests, and lockfile validation.

use actionflow_registry::integrity::sha512_sri;
use actionflow_registry::{
    install, parse_dependency_arg, Error, Lockfile, MemorySource, ResolveOptions,
};
use serde_json::json;

use crate::support::tgz::default_package;
use crate::support::{deps, temp_cache};

#[tokio::test]
async fn memory_source_installs_and_old_manifests_are_tolerated() {
    let tarball = default_package("old", "0.1.0", "package");
    let packument = json!({
        "name": "old",
        "dist-tags": {"latest": "0.1.0"},
        "versions": {
            "0.1.0": {
                "version": "0.1.0",
                // Old manifests carry arrays or odd values here; npm ignores them.
                "dependencies": [],
                "optionalDependencies": {"weird": 3},
                "peerDependenciesMeta": {"x": true},
                "dist": {"tarball": "memory:old-0.1.0.tgz", "integrity": sha512_sri(&tarball)}
            },
            "not-semver": {"version": "not-semver", "dist": {"tarball": "memory:nope"}}
        }
    });
    let mut source = MemorySource::new();
    source.add_packument("old", serde_json::to_vec(&packument).unwrap());
    source.add_tarball("memory:old-0.1.0.tgz", tarball);
    let (_dir, cache) = temp_cache();
    let installed = install(
        &source,
        &cache,
        &deps(&[("old", "*")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(installed.tree.packages["node_modules/old"].version, "0.1.0");
    assert_eq!(source.requests(), 2);
    let error = install(
        &source,
        &cache,
        &deps(&[("missing", "1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::UnknownPackage { package, .. } if package == "missing"),
        "{error:?}"
    );
}

#[test]
fn dependency_arguments_split_like_npm() {
    let cases = [
        ("lodash@^4", ("lodash", "^4")),
        ("ms", ("ms", "*")),
        ("@scope/pkg@1.2.3", ("@scope/pkg", "1.2.3")),
        ("@scope/pkg", ("@scope/pkg", "*")),
        ("nick@npm:real@^1", ("nick", "npm:real@^1")),
        ("dayjs@latest", ("dayjs", "latest")),
    ];
    for (arg, (name, spec)) in cases {
        assert_eq!(
            parse_dependency_arg(arg).unwrap(),
            (name.to_string(), spec.to_string()),
            "{arg}"
        );
    }
    for bad in [
        "",
        "../evil@1",
        "UPPER CASE@1",
        "@scope@1",
        "x@github:a/b",
        "x@npm:",
        "x@npm:é@1",
        "é@1",
        "x@npm:@",
    ] {
        let error = parse_dependency_arg(bad).unwrap_err();
        assert!(
            matches!(error, Error::InvalidSpec { .. }),
            "{bad}: {error:?}"
        );
    }
}

#[test]
fn lockfiles_are_validated_with_the_offending_key_named() {
    let good = json!({"lockfileVersion": 3, "packages": {
        "": {"dependencies": {"a": "^1"}},
        "node_modules/a": {"version": "1.0.0", "resolved": "http://r.test/a.tgz", "integrity": sha512_sri(b"a")},
        "node_modules/a/node_modules/@s/b": {"version": "1.0.0", "resolved": "http://r.test/b.tgz", "integrity": sha512_sri(b"b")}
    }});
    let lockfile = Lockfile::from_json(&good.to_string()).unwrap();
    assert_eq!(Lockfile::from_json(&lockfile.to_json()).unwrap(), lockfile);
    let cases = [
        ("/lockfileVersion", json!(2), "lockfileVersion 2"),
        (
            "/packages/node_modules~1a/integrity",
            json!("md5-xyz"),
            "integrity",
        ),
        (
            "/packages/node_modules~1a/version",
            json!(""),
            "missing version",
        ),
    ];
    for (pointer, value, expected) in cases {
        let mut broken = good.clone();
        *broken.pointer_mut(pointer).unwrap() = value;
        let error = Lockfile::from_json(&broken.to_string())
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{pointer}: {error}");
    }
    for key in [
        "node_modules/../x",
        "node_modules/a/../../b",
        "x/node_modules/a",
        "node_modules/",
    ] {
        let mut broken = good.clone();
        let entry = broken["packages"]["node_modules/a"].clone();
        broken["packages"][key] = entry;
        let error = Lockfile::from_json(&broken.to_string())
            .unwrap_err()
            .to_string();
        assert!(error.contains(&format!("{key:?}")), "{key}: {error}");
    }
}
