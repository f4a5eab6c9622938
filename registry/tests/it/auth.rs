//! Scoped registries: `@scope:registry=` routes scoped packages, and a `_authToken` goes only to its own
//! registry (packuments and tarballs), never to the default one.

use std::collections::BTreeMap;

use actionflow_registry::{
    discover, install, DiscoveryInputs, HttpOptions, HttpSource, ResolveOptions,
};

use crate::support::{deps, temp_cache, Registry};

#[tokio::test]
async fn scoped_packages_use_their_registry_and_only_it_gets_the_token() {
    let mut public = Registry::new();
    public.publish("pub", "1.0.0");
    let mut corp = Registry::new();
    corp.publish("@corp/lib", "1.2.0").dep("pub", "^1");
    corp.require_authorization("Bearer corp-secret");
    let public = public.serve().await;
    let corp = corp.serve().await;

    let home = tempfile::tempdir().unwrap();
    let npmrc = format!(
        "registry={}\n@corp:registry={}\n//127.0.0.1:{}/:_authToken=${{CORP_TOKEN}}\n",
        public.url, corp.url, corp.port
    );
    std::fs::write(home.path().join(".npmrc"), npmrc).unwrap();
    let inputs = DiscoveryInputs {
        env: BTreeMap::from([("CORP_TOKEN".to_string(), "corp-secret".to_string())]),
        home_dir: Some(home.path().to_path_buf()),
        ..DiscoveryInputs::default()
    };
    let config = discover(&inputs).unwrap();
    let source = HttpSource::new(config, HttpOptions::default()).unwrap();
    let (_dir, cache) = temp_cache();
    let installed = install(
        &source,
        &cache,
        &deps(&[("@corp/lib", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        installed.tree.packages["node_modules/@corp/lib"].version,
        "1.2.0"
    );
    assert_eq!(installed.tree.packages["node_modules/pub"].version, "1.0.0");

    let corp_seen = corp.seen();
    assert_eq!(corp_seen.len(), 2, "{corp_seen:#?}");
    assert_eq!(corp_seen[0].path, "/@corp%2flib");
    let accept = corp_seen[0].accept.as_deref().unwrap();
    assert!(
        accept.starts_with("application/vnd.npm.install-v1+json"),
        "{accept}"
    );
    assert!(corp_seen
        .iter()
        .all(|s| s.authorization.as_deref() == Some("Bearer corp-secret")));

    let public_seen = public.seen();
    assert_eq!(public_seen.len(), 2, "{public_seen:#?}");
    assert!(
        public_seen.iter().all(|s| s.authorization.is_none()),
        "{public_seen:#?}"
    );
}

#[tokio::test]
async fn a_refused_token_is_an_error_pointing_at_npmrc() {
    let mut corp = Registry::new();
    corp.publish("@corp/lib", "1.0.0");
    corp.require_authorization("Bearer right");
    let corp = corp.serve().await;
    let home = tempfile::tempdir().unwrap();
    let npmrc = format!(
        "registry={}\n//127.0.0.1:{}/:_authToken=wrong\n",
        corp.url, corp.port
    );
    std::fs::write(home.path().join(".npmrc"), npmrc).unwrap();
    let inputs = DiscoveryInputs {
        home_dir: Some(home.path().to_path_buf()),
        ..DiscoveryInputs::default()
    };
    let source = HttpSource::new(discover(&inputs).unwrap(), HttpOptions::default()).unwrap();
    let (_dir, cache) = temp_cache();
    let error = install(
        &source,
        &cache,
        &deps(&[("@corp/lib", "^1")]),
        &ResolveOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, actionflow_registry::Error::Unauthorized { url, status: 401 } if url.ends_with("/@corp%2flib")),
        "{error:?}"
    );
    assert!(error.to_string().contains(".npmrc"), "{error}");
}
