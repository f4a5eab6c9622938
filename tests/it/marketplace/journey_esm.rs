//! The SES welcome email written as an ES module (`integrations/packages/ses-welcome-email-esm`)
//! through the whole journey: the partner's `integration test`, a submission answered at once
//! (`--no-wait`) whose checks end while `status` is read, review, an install with the tenant's AWS
//! values, a registration, one email at the local SES server (moto).

use super::{partner_and_reviewer, register_once};
use crate::cli::Cli;
use crate::flows::{start, ALL_SCOPES};
use crate::moto::Moto;
use crate::support::marketplace::approve;
use crate::support::Db;
use serde_json::{json, Value};

const ESM_PACKAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/integrations/packages/ses-welcome-email-esm"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_es_module_package_goes_from_partner_to_a_sent_email() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.verify("welcome@yourdomain.example").await;
    let db = Db::sqlite();
    let server = start(&db, &[]).await;
    let (_, partner, reviewer) = partner_and_reviewer(&server).await;
    let cli = Cli {
        url: server.url.clone(),
        token: partner.token().to_owned(),
        dir: db.dir.path().to_path_buf(),
    };

    // The partner's checks, locally: the module loads and its tests pass with the SES double.
    let cache = db.dir.path().join("npm-cache");
    let tested = cli.run(
        &[
            "integration",
            "test",
            ESM_PACKAGE,
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        None,
    );
    let report = String::from_utf8_lossy(&tested.stdout).into_owned();
    assert!(
        tested.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&tested.stderr)
    );

    // A version whose code reads an undeclared secret: `submit` waits for the checks, prints the
    // report and exits 2.
    let broken = db.dir.path().join("broken");
    std::fs::create_dir_all(broken.join("tests")).unwrap();
    for file in [
        "integration.json",
        "installation_guide.md",
        "logo.png",
        "tests/sends-welcome-email.json",
    ] {
        std::fs::copy(format!("{ESM_PACKAGE}/{file}"), broken.join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(broken.join("integration.json")).unwrap();
    let manifest = manifest.replace("\"version\": \"1.0.0\"", "\"version\": \"0.9.0\"");
    std::fs::write(broken.join("integration.json"), manifest).unwrap();
    let code = std::fs::read_to_string(format!("{ESM_PACKAGE}/integration.action.js")).unwrap();
    let code = code.replace("event.secrets.AWS_SES_SECRET,", "event.secrets.OTHER,");
    std::fs::write(broken.join("integration.action.js"), code).unwrap();
    let failed = cli.run(&["integration", "submit", broken.to_str().unwrap()], None);
    assert_eq!(failed.status.code(), Some(2), "{failed:?}");
    let failed: Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(failed["state"], "checks_failed", "{failed}");
    assert!(failed["report"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "secret_not_declared" && f["line"] == 10));

    // Submitted without waiting: stored, `checking`; `status` shows the checks' end.
    let submitted = cli.json(&["integration", "submit", ESM_PACKAGE, "--no-wait"]);
    assert_eq!(submitted["state"], "checking", "{submitted}");
    let id = submitted["id"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let mut status = submitted;
    while status["state"] == "checking" {
        assert!(started.elapsed() < std::time::Duration::from_secs(120));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        status = cli.json(&["integration", "status", &id]);
    }
    assert_eq!(status["state"], "in_review", "{status}");
    approve(&reviewer, &id).await;

    // Installed and bound; a registration sends one email.
    let (_, acme) = server.tenant("acme", ALL_SCOPES).await;
    let install = json!({
        "integration": "ses-welcome-email-esm",
        "secrets": {"AWS_SES_KEY": moto.tenant.key, "AWS_SES_SECRET": moto.tenant.secret},
        "configuration": {
            "FROM_ADDRESS": "welcome@yourdomain.example",
            "TO_ADDRESS": "owner@yourdomain.example",
            "SES_ENDPOINT": moto.url,
        },
        "bind": {"trigger": "post-user-registration"},
    });
    let (code, installed) = acme.post("/v1/integrations/installed", install).await;
    assert_eq!(code, 201, "{installed}");
    let sent = register_once(&acme, ESM_PACKAGE, &moto).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["subject"], "New registration: ada");
}
