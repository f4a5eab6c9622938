//! Download verification and safe unpacking: integrity forms, malicious tarballs, and that a refused
//! package leaves nothing in the cache that looks valid.

use actionflow_registry::{install, layout, Error, Lockfile, ResolveOptions};

use crate::support::tgz::{tgz, Entry};
use crate::support::{deps, source_for, temp_cache, Integrity, Registry};

async fn install_one(
    r: &Registry,
    name: &str,
) -> (
    Result<actionflow_registry::Installation, Error>,
    tempfile::TempDir,
    actionflow_registry::Cache,
) {
    let server = r.serve().await;
    let (dir, cache) = temp_cache();
    let result = install(
        &source_for(&server.url),
        &cache,
        &deps(&[(name, "^1")]),
        &ResolveOptions::default(),
    )
    .await;
    (result, dir, cache)
}

fn assert_cache_has_no_package(cache: &actionflow_registry::Cache) {
    let content = cache.root().join("content");
    let mut found = Vec::new();
    for algorithm in std::fs::read_dir(&content).unwrap() {
        for entry in std::fs::read_dir(algorithm.unwrap().path()).unwrap() {
            found.push(entry.unwrap().path());
        }
    }
    assert!(found.is_empty(), "refused package left {found:?}");
    let leftovers: Vec<_> = std::fs::read_dir(cache.root().join("tmp"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[tokio::test]
async fn integrity_mismatch_is_refused() {
    let mut r = Registry::new();
    r.publish("bad", "1.0.0").integrity(Integrity::Wrong);
    let (result, _dir, cache) = install_one(&r, "bad").await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, Error::IntegrityMismatch { package, .. } if package == "bad@1.0.0"),
        "{error:?}"
    );
    assert_cache_has_no_package(&cache);
}

#[tokio::test]
async fn integrity_forms_npm_accepts() {
    let mut r = Registry::new();
    r.publish("multi", "1.0.0").integrity(Integrity::Multi);
    r.publish("old", "1.0.0").integrity(Integrity::ShasumOnly);
    r.publish("odd-top", "1.0.0").top("node");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let installed = install(
        &source_for(&server.url),
        &cache,
        &deps(&[("multi", "1"), ("old", "1"), ("odd-top", "1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    let lock = &installed.resolution.lockfile.packages;
    // A sha1-only package gets an SRI integrity in the lockfile, as npm writes it.
    assert!(lock["node_modules/old"]
        .integrity
        .as_deref()
        .unwrap()
        .starts_with("sha1-"));
    for name in ["multi", "old", "odd-top"] {
        let dir = &installed.tree.packages[&format!("node_modules/{name}")].dir;
        let index = std::fs::read_to_string(dir.join("index.js")).unwrap();
        assert!(index.contains(&format!("{name}@1.0.0")), "{name}: {index}");
    }
}

#[tokio::test]
async fn a_package_without_integrity_or_shasum_is_refused() {
    let mut r = Registry::new();
    r.publish("naked", "1.0.0").integrity(Integrity::Missing);
    let (result, _dir, _cache) = install_one(&r, "naked").await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, Error::BadIntegrity { package, .. } if package == "naked@1.0.0"),
        "{error:?}"
    );
}

#[tokio::test]
async fn malicious_tarballs_are_refused() {
    let cases: Vec<(&str, Vec<Entry>, &str)> = vec![
        (
            "dotdot",
            vec![
                Entry::file("package/index.js", "1"),
                Entry::file("package/../../evil.js", "x"),
            ],
            "`..`",
        ),
        ("absolute", vec![Entry::file("/etc/evil", "x")], "absolute"),
        (
            "symlink",
            vec![
                Entry::file("package/index.js", "1"),
                Entry::Symlink("package/link".into(), "/etc/passwd".into()),
            ],
            "link",
        ),
        (
            "hardlink",
            vec![Entry::Hardlink(
                "package/h".into(),
                "package/index.js".into(),
            )],
            "link",
        ),
        (
            "fifo",
            vec![Entry::Fifo("package/pipe".into())],
            "device or fifo",
        ),
    ];
    for (name, entries, reason) in cases {
        let mut r = Registry::new();
        r.publish(name, "1.0.0").tarball(tgz(&entries));
        let (result, _dir, cache) = install_one(&r, name).await;
        let error = result.unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(&error, Error::UnsafeTarball { package, .. } if package == &format!("{name}@1.0.0"))
                && message.contains(reason),
            "{name}: {message}"
        );
        assert_cache_has_no_package(&cache);
    }
    assert!(!std::env::temp_dir().join("evil.js").exists());
}

#[tokio::test]
async fn oversize_entries_and_tarballs_are_refused() {
    let big = "x".repeat(10_000);
    let mut r = Registry::new();
    r.publish("big", "1.0.0")
        .tarball(tgz(&[Entry::file("package/big.txt", &big)]));
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let source = source_for(&server.url);
    let wanted = deps(&[("big", "1")]);
    let small_entries = ResolveOptions {
        entry_bytes_max: 5_000,
        ..ResolveOptions::default()
    };
    let error = install(&source, &cache, &wanted, &small_entries)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::LimitExceeded { limit: "entry_bytes_max", package, .. } if package.contains("big@1.0.0")),
        "{error:?}"
    );
    let small_tarballs = ResolveOptions {
        tarball_bytes_max: 20,
        ..ResolveOptions::default()
    };
    let error = install(&source, &cache, &wanted, &small_tarballs)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::LimitExceeded { limit: "tarball_bytes_max", package, .. } if package == "big@1.0.0"),
        "{error:?}"
    );
    let small_total = ResolveOptions {
        unpacked_bytes_max: 9_999,
        ..ResolveOptions::default()
    };
    let error = install(&source, &cache, &wanted, &small_total)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::LimitExceeded { limit: "unpacked_bytes_max", package, .. } if package == "big@1.0.0"),
        "{error:?}"
    );
    assert_cache_has_no_package(&cache);
    // Within the limits it installs.
    let installed = install(&source, &cache, &wanted, &ResolveOptions::default())
        .await
        .unwrap();
    assert_eq!(installed.fetch.unpacked_bytes, 10_000);
}

#[tokio::test]
async fn a_lockfile_with_a_tampered_integrity_is_refused_at_install() {
    let mut r = Registry::new();
    r.publish("a", "1.0.0");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let source = source_for(&server.url);
    let mut lockfile = actionflow_registry::resolve(
        &source,
        &cache,
        &deps(&[("a", "1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap()
    .lockfile;
    let entry = lockfile.packages.get_mut("node_modules/a").unwrap();
    entry.integrity = Some(actionflow_registry::integrity::sha512_sri(
        b"something else",
    ));
    let lockfile = Lockfile::from_json(&lockfile.to_json()).unwrap();
    let error = actionflow_registry::install_lockfile(
        &source,
        &cache,
        &lockfile,
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::IntegrityMismatch { package, .. } if package == "a@1.0.0"),
        "{error:?}"
    );
    assert!(matches!(
        layout(&lockfile, &cache),
        Err(Error::NotCached { .. })
    ));
}

#[tokio::test]
async fn an_optional_package_that_fails_verification_leaves_the_tree() {
    let mut r = Registry::new();
    r.publish("host", "1.0.0")
        .optional_dep("native", "^1")
        .dep("shared", "^1");
    r.publish("native", "1.0.0")
        .integrity(Integrity::Wrong)
        .dep("native-only", "^1")
        .dep("shared", "^1");
    r.publish("native-only", "1.0.0");
    r.publish("shared", "1.0.0");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let installed = install(
        &source_for(&server.url),
        &cache,
        &deps(&[("host", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    let keys: Vec<&String> = installed.resolution.lockfile.packages.keys().collect();
    assert_eq!(keys, ["", "node_modules/host", "node_modules/shared"]);
    assert_eq!(installed.tree.packages.len(), 2);
    let warnings = installed.resolution.warnings.join("\n");
    assert!(
        warnings.contains("skipped optional package native@1.0.0: integrity check failed"),
        "{warnings}"
    );
    // The same lockfile installed strictly (another node) is complete and needs nothing optional.
    let tree = actionflow_registry::install_lockfile(
        &source_for(&server.url),
        &cache,
        &installed.resolution.lockfile,
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(tree, installed.tree);
}

#[test]
fn a_tarball_is_cached_only_under_the_digest_it_has() {
    use actionflow_registry::integrity::{sha512_sri, Integrity as Sri};
    use actionflow_registry::unpack::UnpackLimits;
    let real = crate::support::tgz::default_package("lodash", "4.17.21", "package");
    let evil = crate::support::tgz::default_package("lodash", "6.6.6", "package");
    let (real_sri, evil_sri) = (sha512_sri(&real), sha512_sri(&evil));
    // A registry listing both digests: the evil tarball passes verification…
    let listed = Sri::parse(&format!("{real_sri} {evil_sri}")).unwrap();
    let verified = listed.verify("lodash@4.17.21", &evil).unwrap();
    assert_eq!(verified.to_sri(), evil_sri);
    let (_dir, cache) = temp_cache();
    let limits = UnpackLimits {
        entry_bytes_max: 1 << 20,
        unpacked_bytes_max: 1 << 20,
        entries_max: 100,
    };
    cache
        .store_package("lodash", "4.17.21", &verified, &evil, &limits)
        .unwrap();
    // …but is stored under its own digest: a lockfile pinning the real lodash does not find it.
    assert!(cache
        .package_meta(&Sri::parse(&real_sri).unwrap())
        .is_none());
    assert!(cache
        .package_meta(&Sri::parse(&evil_sri).unwrap())
        .is_some());
    assert!(cache.package_meta(&listed).is_some());
}

#[test]
fn a_tarball_that_inflates_past_its_budget_is_refused() {
    use actionflow_registry::unpack::{unpack, UnpackLimits};
    // 8 MiB of zeros in one file compresses to a few KiB; the stream bound stops it before tar does.
    let big = "\0".repeat(8 << 20);
    let bomb = tgz(&[Entry::file("package/big.bin", &big)]);
    let dest = tempfile::tempdir().unwrap();
    let limits = UnpackLimits {
        entry_bytes_max: 64 << 20,
        unpacked_bytes_max: 1 << 20,
        entries_max: 10,
    };
    assert!(unpack("bomb@1.0.0", &bomb, dest.path(), &limits).is_err());
}
