//! `.npmrc` parsing and registry discovery precedence, from synthetic environments and temporary dirs.

use std::collections::BTreeMap;
use std::path::Path;

use actionflow_registry::config::npmrc;
use actionflow_registry::{discover, Credential, DiscoveryInputs, Error};

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn npmrc_parses_registries_tokens_comments_and_env() {
    let text = "\
# a comment
; another comment
registry = \"https://registry.example.test/npm/\"
@corp:registry=https://corp.example.test/
//corp.example.test/:_authToken=${CORP_TOKEN}
//other.example.test/path:_auth=dXNlcjpwYXNz
cache=${HOME}/.npm-cache
cafile=${HOME}/ca.pem
optional=${UNSET_VAR?}
[section]
strict-ssl=false
";
    let rc = npmrc::parse(
        text,
        "test.npmrc",
        &env(&[("CORP_TOKEN", "s3cret"), ("HOME", "/home/x")]),
    )
    .unwrap();
    assert_eq!(
        rc.registry.as_deref(),
        Some("https://registry.example.test/npm/")
    );
    assert_eq!(rc.scopes["@corp"], "https://corp.example.test/");
    assert_eq!(
        rc.credentials["//corp.example.test/"],
        Credential::Bearer("s3cret".into())
    );
    assert_eq!(
        rc.credentials["//other.example.test/path/"],
        Credential::Basic("dXNlcjpwYXNz".into())
    );
    assert_eq!(rc.cafile.as_deref(), Some("/home/x/ca.pem"));
    // Secrets stay out of Debug output.
    assert!(!format!("{rc:?}").contains("s3cret"));
}

#[test]
fn npmrc_errors_name_file_line_and_problem() {
    let error = npmrc::parse(
        "registry=x\n//h/:_authToken=${MISSING}\n",
        "proj/.npmrc",
        &BTreeMap::new(),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("proj/.npmrc:2:") && message.contains("MISSING"),
        "{message}"
    );
    let error = npmrc::parse("just some words\n", "u/.npmrc", &BTreeMap::new()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("u/.npmrc:1: expected `key=value`"),
        "{error}"
    );
    let error = npmrc::parse(
        "corp:registry=https://x.test/\n",
        "u/.npmrc",
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("invalid scope"), "{error}");
}

fn write_npmrc(dir: &Path, text: &str) {
    std::fs::write(dir.join(".npmrc"), text).unwrap();
}

/// A fake `npm` that answers `config get registry`, so the fallback is tested without touching npm.
fn fake_npm(dir: &Path, answer: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("npm");
    std::fs::write(
        &path,
        format!("#!/bin/sh\n[ \"$1 $2 $3\" = \"config get registry\" ] && echo '{answer}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn discovery_precedence_flag_env_project_user_npm_error() {
    let temp = tempfile::tempdir().unwrap();
    let (project, home, bin) = (
        temp.path().join("p"),
        temp.path().join("h"),
        temp.path().join("bin"),
    );
    for d in [&project, &home, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    write_npmrc(&project, "registry=http://project.test/\n");
    write_npmrc(
        &home,
        "registry=http://user.test/\n@corp:registry=http://corp.test/\n//corp.test/:_authToken=t\n",
    );
    fake_npm(&bin, "http://from-npm.test/");
    let mut inputs = DiscoveryInputs {
        registry_flag: Some("http://flag.test".into()),
        env: env(&[
            ("NPM_CONFIG_REGISTRY", "http://upper.test/"),
            ("npm_config_registry", "http://lower.test/"),
            ("PATH", bin.to_str().unwrap()),
        ]),
        project_dir: Some(project.clone()),
        home_dir: Some(home.clone()),
        npm_program: None,
    };
    let registry = |inputs: &DiscoveryInputs| discover(inputs).map(|c| c.registry.to_string());
    assert_eq!(registry(&inputs).unwrap(), "http://flag.test/");
    inputs.registry_flag = None;
    assert_eq!(registry(&inputs).unwrap(), "http://lower.test/");
    inputs.env.remove("npm_config_registry");
    assert_eq!(registry(&inputs).unwrap(), "http://upper.test/");
    inputs.env.remove("NPM_CONFIG_REGISTRY");
    assert_eq!(registry(&inputs).unwrap(), "http://project.test/");
    std::fs::remove_file(project.join(".npmrc")).unwrap();
    let config = discover(&inputs).unwrap();
    assert_eq!(config.registry.as_str(), "http://user.test/");
    assert_eq!(config.registry_for("@corp/x").as_str(), "http://corp.test/");
    assert_eq!(config.registry_for("plain").as_str(), "http://user.test/");
    write_npmrc(&home, "@corp:registry=http://corp.test/\n");
    let config = discover(&inputs).unwrap();
    assert_eq!(
        (config.registry.as_str(), config.origin.as_str()),
        ("http://from-npm.test/", "`npm config get registry`")
    );
    // Scopes from the user file still apply on top of npm's answer.
    assert_eq!(config.registry_for("@corp/x").as_str(), "http://corp.test/");
    inputs.env.insert(
        "PATH".into(),
        temp.path().join("empty").to_str().unwrap().into(),
    );
    let error = discover(&inputs).unwrap_err();
    assert!(matches!(error, Error::NoRegistryConfigured));
    let message = error.to_string();
    assert!(
        message.contains("--registry")
            && message.contains("NPM_CONFIG_REGISTRY")
            && message.contains(".npmrc"),
        "{message}"
    );
}

#[test]
fn project_settings_override_user_settings_and_bad_urls_are_named() {
    let temp = tempfile::tempdir().unwrap();
    let (project, home) = (temp.path().join("p"), temp.path().join("h"));
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    write_npmrc(&home, "registry=http://user.test/\n@s:registry=http://user-s.test/\n//user-s.test/:_authToken=u\n");
    write_npmrc(
        &project,
        "@s:registry=http://project-s.test/\n//project-s.test/:_authToken=${TOKEN}\n",
    );
    let inputs = DiscoveryInputs {
        env: env(&[("TOKEN", "p")]),
        project_dir: Some(project.clone()),
        home_dir: Some(home),
        ..DiscoveryInputs::default()
    };
    let config = discover(&inputs).unwrap();
    assert_eq!(config.registry.as_str(), "http://user.test/");
    assert_eq!(
        config.registry_for("@s/pkg").as_str(),
        "http://project-s.test/"
    );
    let url = url::Url::parse("http://project-s.test/@s%2fpkg").unwrap();
    assert_eq!(
        config.credential_for(&url),
        Some(&Credential::Bearer("p".into()))
    );
    let elsewhere = url::Url::parse("http://user.test/pkg").unwrap();
    assert_eq!(config.credential_for(&elsewhere), None);

    let bad = DiscoveryInputs {
        registry_flag: Some("ftp://nope.test/".into()),
        ..inputs
    };
    let error = discover(&bad).unwrap_err().to_string();
    assert!(
        error.contains("ftp://nope.test/") && error.contains("--registry"),
        "{error}"
    );
}

#[test]
fn cafile_from_npmrc_is_loaded_or_refused_with_its_path() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing.pem");
    std::fs::write(
        home.path().join(".npmrc"),
        format!("registry=https://r.test/\ncafile={}\n", missing.display()),
    )
    .unwrap();
    let inputs = DiscoveryInputs {
        home_dir: Some(home.path().to_path_buf()),
        ..DiscoveryInputs::default()
    };
    let config = discover(&inputs).unwrap();
    assert_eq!(config.ca_file.as_deref(), Some(missing.as_path()));
    let error =
        actionflow_registry::HttpSource::new(config.clone(), Default::default()).unwrap_err();
    assert!(
        matches!(&error, Error::CaFile { path, .. } if path == &missing),
        "{error:?}"
    );
    std::fs::write(&missing, "not a certificate\n").unwrap();
    let error = actionflow_registry::HttpSource::new(config, Default::default()).unwrap_err();
    assert!(error.to_string().contains("missing.pem"), "{error}");
}
