//! The marketplace end to end: the SES welcome email package packed with the CLI, submitted with
//! a publisher token, checked, approved by a reviewer, installed by a tenant with its AWS values
//! and bound to post-user-registration; a registration then sends one email to the local SES
//! server (moto) (`journey.rs`; the same package as an ES module in `journey_esm.rs`). Around
//! it: what partners are refused and how reviews go (`submissions.rs`), upgrades, rollbacks and
//! yanks of installed copies (`installs.rs`), deprecation (`deprecate.rs`), checks cut by a stop
//! (`restart.rs`), the partner's `integration init` and `test` (`partner_cli.rs`).

mod deprecate;
mod installs;
mod journey;
mod journey_esm;
mod partner_cli;
mod restart;
mod submissions;

use crate::support::marketplace::{
    market_server, partner_and_reviewer, publish, reference_package, submit, variant, PACKAGE,
};

use crate::cli::Cli;
use crate::support::{Api, Server, ADMIN_TOKEN};
use serde_json::{json, Value};

/// A registration with the event of `package_dir`'s `sends-welcome-email` test, dispatched to
/// post-user-registration: its execution completes, once. The emails the SES server then holds.
async fn register_once(acme: &Api, package_dir: &str, moto: &crate::moto::Moto) -> Vec<Value> {
    let test = format!("{package_dir}/tests/sends-welcome-email.json");
    let event: Value = serde_json::from_str(&std::fs::read_to_string(test).unwrap()).unwrap();
    let (status, queued) = acme
        .post(
            "/v1/triggers/post-user-registration/dispatch",
            json!({"event": event["event"]}),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let execution = queued["execution_id"].as_str().unwrap();
    let done = crate::flows::wait_for(acme, execution, "final").await;
    assert_eq!(done["results"][0]["status"], "completed", "{done}");
    moto.sent().await
}

/// Packs the folder with `actionflow integration pack`; the package's bytes and sha256.
fn pack_with_cli(server: &Server, dir: &std::path::Path) -> (Vec<u8>, String) {
    let out = dir.join("ses-welcome-email.tgz");
    let cli = Cli {
        url: server.url.clone(),
        token: ADMIN_TOKEN.to_owned(),
        dir: dir.to_path_buf(),
    };
    let out_text = out.to_str().unwrap();
    let packed = cli.json(&["integration", "pack", PACKAGE, "--out", out_text]);
    let again = cli.json(&["integration", "pack", PACKAGE, "--out", out_text]);
    assert_eq!(
        packed["sha256"], again["sha256"],
        "packing is deterministic"
    );
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        bytes == reference_package(),
        "the CLI packs what the library packs"
    );
    (bytes, packed["sha256"].as_str().unwrap().to_owned())
}

/// A `.tgz` of one regular file whose raw name we choose (the tar builder refuses `..`).
fn raw_tgz(name: &[u8], data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}
