//! npm range semantics end to end: every range form, prereleases and dist-tags, through a real resolution.

use actionflow_registry::{resolve, Error, NetworkMode, ResolveOptions};

use crate::support::{deps, source_for, temp_cache, Registry};

fn registry() -> Registry {
    let mut r = Registry::new();
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
    // `latest` deliberately below the highest release, as after a rollback: npm prefers it when it satisfies.
    r.tag("r", "latest", "2.1.0").tag("r", "next", "3.0.0-rc.1");
    r
}

#[tokio::test]
async fn every_range_form_picks_what_npm_picks() {
    let server = registry().serve().await;
    let source = source_for(&server.url);
    let (_dir, cache) = temp_cache();
    let options = ResolveOptions {
        network: NetworkMode::PreferOffline,
        ..ResolveOptions::default()
    };
    let cases = [
        ("^1.2.3", "1.10.0"),
        ("~1.2.3", "1.2.4"),
        ("1.2.3", "1.2.3"),
        ("=1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("1", "1.10.0"),
        ("1.x", "1.10.0"),
        ("1.2.x", "1.2.4"),
        ("1.2.*", "1.2.4"),
        ("*", "2.1.0"),
        ("", "2.1.0"),
        ("x", "2.1.0"),
        ("1.0.0 - 1.2.3", "1.2.3"),
        ("1.0 - 1.2", "1.2.4"),
        ("^0.9.0 || ~1.2.3", "1.2.4"),
        ("<1.0.0 || >=1.3.0 <1.4.0", "1.3.0"),
        (">=1.2.3 <1.3.0", "1.2.4"),
        (">1.2.3 <=1.3.0", "1.3.0"),
        ("<1.0.0", "0.9.0"),
        ("^0.9", "0.9.0"),
        ("~1", "1.10.0"),
        ("^2", "2.1.0"),
        (">=2.2.0", "2.2.0"),
        ("^2.0.0-beta.1", "2.1.0"),
        (">=2.0.0-beta.0 <2.0.0", "2.0.0-beta.1"),
        (">=3.0.0-rc.0", "3.0.0-rc.1"),
        ("latest", "2.1.0"),
        ("next", "3.0.0-rc.1"),
    ];
    let mut failures = Vec::new();
    for (range, expected) in cases {
        let resolution = resolve(&source, &cache, &deps(&[("r", range)]), &options)
            .await
            .unwrap();
        let got = resolution.lockfile.packages["node_modules/r"]
            .version
            .clone()
            .unwrap();
        if got != expected {
            failures.push(format!("{range:?}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Each packument was fetched once: the rest came from the cache.
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn prereleases_only_match_ranges_naming_their_tuple() {
    let server = registry().serve().await;
    let source = source_for(&server.url);
    let (_dir, cache) = temp_cache();
    for range in ["^3", ">2.2.0", "3.x"] {
        let error = resolve(
            &source,
            &cache,
            &deps(&[("r", range)]),
            &ResolveOptions::default(),
        )
        .await
        .unwrap_err();
        match &error {
            Error::NoMatchingVersion {
                package,
                range: r,
                latest,
            } => {
                assert_eq!(
                    (package.as_str(), r.as_str(), latest.as_str()),
                    ("r", range, "2.1.0")
                );
            }
            other => panic!("{range}: unexpected {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message.contains("r") && message.contains(range),
            "{message}"
        );
    }
}

#[tokio::test]
async fn unknown_tag_and_bad_ranges_are_errors_naming_the_package() {
    let server = registry().serve().await;
    let source = source_for(&server.url);
    let (_dir, cache) = temp_cache();
    let error = resolve(
        &source,
        &cache,
        &deps(&[("r", "beta")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::NoMatchingVersion { package, range, .. } if package == "r" && range == "beta"),
        "{error:?}"
    );
    for bad in [
        "not a range!",
        "github:user/repo",
        "file:../x",
        "git+https://example.invalid/x.git",
        "user/repo",
    ] {
        let error = resolve(
            &source,
            &cache,
            &deps(&[("r", bad)]),
            &ResolveOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidSpec { package, spec, .. } if package == "r" && spec == bad),
            "{bad}: {error:?}"
        );
    }
}

#[tokio::test]
async fn deprecated_versions_are_avoided_and_star_takes_a_prerelease_latest() {
    let mut r = Registry::new();
    r.publish("dep", "1.0.0");
    r.publish("dep", "1.1.0")
        .field("deprecated", serde_json::json!("security issue, use 1.0.0"));
    r.publish("dep", "1.2.0-alpha.1");
    r.tag("dep", "latest", "1.1.0");
    r.publish("all", "1.0.0")
        .field("deprecated", serde_json::json!("gone"));
    r.publish("all", "1.1.0")
        .field("deprecated", serde_json::json!("gone"));
    r.publish("pre", "1.0.0");
    r.publish("pre", "2.0.0-rc.1");
    r.tag("pre", "latest", "2.0.0-rc.1");
    let server = r.serve().await;
    let source = source_for(&server.url);
    let (_dir, cache) = temp_cache();
    let cases = [
        ("dep", "^1", "1.0.0"),
        ("dep", "1.1.0", "1.1.0"),
        ("all", "^1", "1.1.0"),
        ("pre", "*", "2.0.0-rc.1"),
        ("pre", "^1", "1.0.0"),
    ];
    for (name, range, expected) in cases {
        let resolution = resolve(
            &source,
            &cache,
            &deps(&[(name, range)]),
            &ResolveOptions::default(),
        )
        .await
        .unwrap();
        let got = resolution.lockfile.packages[&format!("node_modules/{name}")]
            .version
            .clone()
            .unwrap();
        assert_eq!(got, expected, "{name}@{range}");
    }
}
