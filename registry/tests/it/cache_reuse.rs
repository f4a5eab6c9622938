//! The cache makes a second resolution network-free: with the registry stopped, resolve, install and
//! layout still succeed; revalidation uses ETags; offline mode names what is missing.

use actionflow_registry::{
    install, install_lockfile, layout, resolve, Error, NetworkMode, ResolveOptions,
};

use crate::support::{deps, source_for, temp_cache, Registry};

fn tree() -> Registry {
    let mut r = Registry::new();
    r.publish("a", "1.0.0").dep("d", "^1");
    r.publish("b", "1.0.0").dep("d", "^2");
    r.publish("d", "1.0.0");
    r.publish("d", "2.0.0");
    r
}

#[tokio::test]
async fn second_resolution_and_layout_work_with_the_registry_stopped() {
    let server = tree().serve().await;
    let url = server.url.clone();
    let (_dir, cache) = temp_cache();
    let wanted = deps(&[("a", "^1"), ("b", "^1")]);
    let first = install(
        &source_for(&url),
        &cache,
        &wanted,
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(first.fetch.downloaded, 4);
    assert_eq!(first.resolution.packument_requests, 3);
    server.stop().await;

    // Online mode within the packument freshness window, prefer-offline and offline: no network at all.
    for network in [
        NetworkMode::Online,
        NetworkMode::PreferOffline,
        NetworkMode::Offline,
    ] {
        let options = ResolveOptions {
            network,
            ..ResolveOptions::default()
        };
        let again = install(&source_for(&url), &cache, &wanted, &options)
            .await
            .unwrap();
        assert_eq!(again.resolution.packument_requests, 0, "{network:?}");
        assert_eq!(
            (again.fetch.downloaded, again.fetch.cached),
            (0, 4),
            "{network:?}"
        );
        assert_eq!(again.resolution.lockfile, first.resolution.lockfile);
        assert_eq!(again.tree, first.tree);
    }
    let tree = layout(&first.resolution.lockfile, &cache).unwrap();
    assert!(tree.packages["node_modules/b/node_modules/d"]
        .dir
        .join("package.json")
        .is_file());
    let from_lockfile = install_lockfile(
        &source_for(&url),
        &cache,
        &first.resolution.lockfile,
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(from_lockfile, tree);

    // A stale packument is revalidated; with the registry down npm's fallback applies: use the cached copy.
    let stale = ResolveOptions {
        packument_max_age_ms: 0,
        ..ResolveOptions::default()
    };
    let fallback = resolve(&source_for(&url), &cache, &wanted, &stale)
        .await
        .unwrap();
    assert_eq!(fallback.lockfile, first.resolution.lockfile);
}

#[tokio::test]
async fn stale_packuments_are_revalidated_with_etags() {
    let server = tree().serve().await;
    let (_dir, cache) = temp_cache();
    let source = source_for(&server.url);
    let wanted = deps(&[("a", "^1")]);
    resolve(&source, &cache, &wanted, &ResolveOptions::default())
        .await
        .unwrap();
    let stale = ResolveOptions {
        packument_max_age_ms: 0,
        ..ResolveOptions::default()
    };
    let again = resolve(&source, &cache, &wanted, &stale).await.unwrap();
    assert_eq!(again.packument_requests, 2);
    let seen = server.seen();
    let revalidations: Vec<_> = seen.iter().filter(|s| s.if_none_match.is_some()).collect();
    assert_eq!(revalidations.len(), 2, "{seen:#?}");
    assert_eq!(
        again.lockfile.packages["node_modules/d"].version.as_deref(),
        Some("1.0.0")
    );
}

#[tokio::test]
async fn offline_mode_names_what_is_missing() {
    let server = tree().serve().await;
    let (_dir, cache) = temp_cache();
    let source = source_for(&server.url);
    let offline = ResolveOptions {
        network: NetworkMode::Offline,
        ..ResolveOptions::default()
    };
    let error = resolve(&source, &cache, &deps(&[("a", "^1")]), &offline)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotCachedOffline { package } if package == "a"),
        "{error:?}"
    );
    // Packuments cached but tarballs not: installing offline names the package.
    resolve(
        &source,
        &cache,
        &deps(&[("a", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    let error = install(&source, &cache, &deps(&[("a", "^1")]), &offline)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotCachedOffline { package } if package == "a@1.0.0" || package == "d@1.0.0"),
        "{error:?}"
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn incomplete_entries_never_count_as_cached() {
    let server = tree().serve().await;
    let (_dir, cache) = temp_cache();
    let source = source_for(&server.url);
    let lockfile = resolve(
        &source,
        &cache,
        &deps(&[("d", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap()
    .lockfile;
    let sri = lockfile.packages["node_modules/d"]
        .integrity
        .clone()
        .unwrap();
    let integrity = actionflow_registry::integrity::Integrity::parse(&sri).unwrap();
    // What a writer that died mid-way outside our protocol could leave: files but no meta.json.
    let half = cache.package_dir(&integrity);
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(half.join("index.js"), "garbage").unwrap();
    // And a crashed writer's staging directory.
    std::fs::create_dir_all(cache.root().join("tmp/af-crashed/entry/package")).unwrap();
    let error = layout(&lockfile, &cache).unwrap_err();
    assert!(
        matches!(&error, Error::NotCached { key, .. } if key == "node_modules/d"),
        "{error:?}"
    );
    let tree = install_lockfile(&source, &cache, &lockfile, &ResolveOptions::default())
        .await
        .unwrap();
    let index =
        std::fs::read_to_string(tree.packages["node_modules/d"].dir.join("index.js")).unwrap();
    assert!(index.contains("d@1.0.0"), "{index}");
}
