//! Errors name the package and the problem: unknown packages, unmatched ranges, limits, transient failures.

use actionflow_registry::{
    resolve, Error, HttpOptions, HttpSource, RegistryConfig, ResolveOptions,
};

use crate::support::{deps, source_for, temp_cache, Registry};

fn small_registry() -> Registry {
    let mut r = Registry::new();
    r.publish("a", "1.0.0").dep("b", "^1").dep("ghost", "^1");
    r.publish("b", "1.0.0").dep("c", "^5");
    r.publish("c", "1.0.0");
    r.publish("ok", "1.0.0").dep("b2", "^1");
    r.publish("b2", "1.0.0").dep("c2", "^1");
    r.publish("c2", "1.0.0");
    r
}

#[tokio::test]
async fn unknown_packages_are_named_even_when_transitive() {
    let server = small_registry().serve().await;
    let (_dir, cache) = temp_cache();
    let source = source_for(&server.url);
    let error = resolve(
        &source,
        &cache,
        &deps(&[("nope", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::UnknownPackage { package, .. } if package == "nope"),
        "{error:?}"
    );
    assert!(error.to_string().contains("nope"));
    let error = resolve(
        &source,
        &cache,
        &deps(&[("a", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::UnknownPackage { package, wanted, .. } if package == "ghost" && wanted == " (wanted as \"^1\" by node_modules/a)"),
        "{error:?}"
    );
}

#[tokio::test]
async fn unmatched_transitive_range_names_package_and_range() {
    let mut r = Registry::new();
    r.publish("b", "1.0.0").dep("c", "^5");
    r.publish("c", "1.0.0");
    let server = r.serve().await;
    let (_dir, cache) = temp_cache();
    let error = resolve(
        &source_for(&server.url),
        &cache,
        &deps(&[("b", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::NoMatchingVersion { package, range, .. } if package == "c" && range == "^5"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "no version of c matches \"^5\" (latest is 1.0.0)"
    );
}

#[tokio::test]
async fn packages_max_names_the_package_over_the_limit() {
    let server = small_registry().serve().await;
    let (_dir, cache) = temp_cache();
    let options = ResolveOptions {
        packages_max: 2,
        ..ResolveOptions::default()
    };
    let error = resolve(
        &source_for(&server.url),
        &cache,
        &deps(&[("ok", "^1")]),
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::LimitExceeded { package, limit: "packages_max", value: 3, max: 2 } if package == "c2@1.0.0"),
        "{error:?}"
    );
    let options = ResolveOptions {
        packages_max: 3,
        ..ResolveOptions::default()
    };
    resolve(
        &source_for(&server.url),
        &cache,
        &deps(&[("ok", "^1")]),
        &options,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff() {
    let server = small_registry().serve().await;
    let (_dir, cache) = temp_cache();
    server.fail_next(2);
    let resolution = resolve(
        &source_for(&server.url),
        &cache,
        &deps(&[("c", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        resolution.lockfile.packages["node_modules/c"]
            .version
            .as_deref(),
        Some("1.0.0")
    );
    assert_eq!(server.request_count(), 3);

    let (_dir2, cache2) = temp_cache();
    let config = RegistryConfig::new(&server.url, "test").unwrap();
    let no_retry = HttpSource::new(
        config,
        HttpOptions {
            retries_max: 0,
            ..HttpOptions::default()
        },
    )
    .unwrap();
    server.fail_next(1);
    let error = resolve(
        &no_retry,
        &cache2,
        &deps(&[("c", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::HttpStatus { status: 503, url } if url.ends_with("/c")),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unreachable_registry_is_a_network_error_naming_the_url() {
    let server = small_registry().serve().await;
    let url = server.url.clone();
    server.stop().await;
    let (_dir, cache) = temp_cache();
    let error = resolve(
        &source_for(&url),
        &cache,
        &deps(&[("c", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::Network { url: u, attempts: 3, .. } if u == &format!("{url}c")),
        "{error:?}"
    );
}
