//! What partners are refused (another publisher's name, undeclared reads, unresolvable
//! dependencies, escaping or exploding archives, reused versions) and how reviews go (changes
//! requested with a comment, withdrawal, warnings acknowledged, a rejection and what it closes,
//! review reserved to `marketplace:review`).

use super::{market_server, partner_and_reviewer, raw_tgz, submit, variant};
use crate::cli::Cli;
use crate::flows::ALL_SCOPES;
use crate::support::{assert_error, Db};
use serde_json::json;

async fn submissions_are_checked_and_reviewed(db: Db) {
    let (server, _registry) = market_server(&db).await;
    let (partner_id, partner, reviewer) = partner_and_reviewer(&server).await;
    let (status, _) = server
        .admin()
        .post(
            "/v1/marketplace/publishers",
            json!({"name": "someone-else", "tenant_id": partner_id}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, intruder) = server.tenant("intruder", &["integrations:submit"]).await;

    // Under another publisher's name: refused.
    let v1 = variant(|_| {}, |c| c);
    let refused = submit(&intruder, &v1).await;
    assert_error(&refused, 403, "forbidden", "authorization");

    // An undeclared secret read: stored, checks_failed, with the line.
    let sneaky = variant(
        |m| m["version"] = json!("0.9.0"),
        |c| {
            c.replace(
                "event.secrets.AWS_SES_SECRET,",
                "event.secrets.AWS_SES_SECRET + (event.secrets.OTHER ?? \"\"),",
            )
        },
    );
    let (status, failed) = submit(&partner, &sneaky).await;
    assert_eq!(status, 202, "{failed}");
    assert_eq!(failed["state"], "checks_failed", "{failed}");
    let finding = failed["report"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "secret_not_declared")
        .cloned()
        .unwrap();
    assert_eq!(
        (finding["file"].as_str(), finding["line"].as_u64()),
        (Some("integration.action.js"), Some(11))
    );
    // A failed submission is never reviewable.
    let id = failed["id"].as_str().unwrap();
    let refused = reviewer
        .post(
            &format!("/v1/marketplace/submissions/{id}/review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_error(&refused, 409, "conflict", "decision");
    // Another tenant's publisher token does not see it.
    let hidden = intruder
        .get(&format!("/v1/marketplace/submissions/{id}"))
        .await;
    assert_error(&hidden, 404, "not_found", "id");

    // Dependencies: resolved from the registry and locked; the tests run with them.
    let with_dependency = |version: &str, dependency: &str| {
        let (version, dependency) = (version.to_owned(), dependency.to_owned());
        variant(
            move |m| {
                m["version"] = json!(version);
                m["dependencies"] = json!([{"name": dependency, "version": "1.2.3"}]);
            },
            |c| {
                c.replace(
                    "const ses = require(\"actionflow:ses\");",
                    "const ses = require(\"actionflow:ses\");\nconst { greet } = require(\"greeting\");",
                )
                .replace("console.log(`welcome", "console.log(greet(\"x\"), `welcome")
            },
        )
    };
    let (_, missing) = submit(&partner, &with_dependency("0.9.1", "no-such-package")).await;
    assert_eq!(missing["state"], "checks_failed", "{missing}");
    assert!(
        missing["report"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "dependency_unresolvable"),
        "{missing}"
    );
    let (_, resolved) = submit(&partner, &with_dependency("0.9.2", "greeting")).await;
    assert_eq!(resolved["state"], "in_review", "{resolved}");

    // A reviewer sends it back with a comment the partner sees; the partner withdraws it.
    let resolved_id = resolved["id"].as_str().unwrap();
    let review_path = format!("/v1/marketplace/submissions/{resolved_id}/review");
    let refused = reviewer
        .post(&review_path, json!({"decision": "request_changes"}))
        .await;
    assert_error(&refused, 422, "invalid_value", "comment");
    let (status, sent_back) = reviewer
        .post(
            &review_path,
            json!({"decision": "request_changes", "comment": "pin greeting to 1.2.4"}),
        )
        .await;
    assert_eq!(
        (status, sent_back["state"].as_str()),
        (200, Some("changes_requested"))
    );
    let (_, seen) = partner
        .get(&format!("/v1/marketplace/submissions/{resolved_id}"))
        .await;
    let last = seen["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["to"].as_str(), last["reason"].as_str()),
        (Some("changes_requested"), Some("pin greeting to 1.2.4"))
    );
    let (status, withdrawn) = partner
        .post(
            &format!("/v1/marketplace/submissions/{resolved_id}/withdraw"),
            json!({"reason": "replaced"}),
        )
        .await;
    assert_eq!(
        (status, withdrawn["state"].as_str()),
        (200, Some("withdrawn"))
    );
    let refused = reviewer
        .post(&review_path, json!({"decision": "approve"}))
        .await;
    assert_error(&refused, 409, "conflict", "decision");

    // Archives that would escape or explode are refused before anything is stored.
    for (name, data, code) in [
        (&b"../../etc/cron.d/evil"[..], vec![b'x'], "path_traversal"),
        (
            &b"tests/huge.json"[..],
            vec![0u8; 64 * 1024 * 1024],
            "decompression_limit",
        ),
    ] {
        let refused = submit(&partner, &raw_tgz(name, &data)).await;
        assert_error(&refused, 422, "invalid_value", "package");
        let message = refused.1["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(code), "{message}");
    }

    // Warnings need the reviewer's acknowledgement, kept in the transition.
    let unused = variant(
        |m| {
            m["version"] = json!("0.9.3");
            m["configuration"].as_array_mut().unwrap().push(json!({
                "name": "UNUSED_OPTION", "label": "Unused", "required": false, "type": "string"}));
        },
        |c| c,
    );
    let (_, warned) = submit(&partner, &unused).await;
    assert_eq!(warned["state"], "in_review", "{warned}");
    let warned_path = format!(
        "/v1/marketplace/submissions/{}/review",
        warned["id"].as_str().unwrap()
    );
    let refused = reviewer
        .post(&warned_path, json!({"decision": "approve"}))
        .await;
    assert_error(&refused, 422, "invalid_value", "acknowledge_warnings");
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("configuration_not_read"));
    let (status, approved) = reviewer
        .post(
            &warned_path,
            json!({"decision": "approve", "acknowledge_warnings": true}),
        )
        .await;
    assert_eq!(
        (status, approved["state"].as_str()),
        (200, Some("published")),
        "{approved}"
    );
    let reasons: Vec<&str> = approved["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("warnings acknowledged: configuration_not_read")),
        "{reasons:?}"
    );

    // 1.0.0 passes and is published; reusing it or going lower is refused.
    let (status, ok) = submit(&partner, &v1).await;
    assert_eq!(
        (status, ok["state"].as_str()),
        (202, Some("in_review")),
        "{ok}"
    );
    let ok_id = ok["id"].as_str().unwrap();
    let (status, _) = reviewer
        .post(
            &format!("/v1/marketplace/submissions/{ok_id}/review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(status, 200);
    let reused = submit(&partner, &v1).await;
    assert_error(&reused, 422, "invalid_value", "package");
    assert!(reused.1["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("version_reused"));
}

on_both_backends!(submissions_are_checked_and_reviewed);

/// A rejection says why, the partner reads it, and it is final; only reviewers review.
async fn a_rejection_says_why_and_is_final(db: Db) {
    let (server, _registry) = market_server(&db).await;
    let (_, partner, reviewer) = partner_and_reviewer(&server).await;
    let (_, submitted) = submit(&partner, &variant(|_| {}, |c| c)).await;
    assert_eq!(submitted["state"], "in_review", "{submitted}");
    let id = submitted["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/marketplace/submissions/{id}");
    let review_path = format!("{path}/review");

    // Without marketplace:review, neither the partner nor a tenant holding every other scope
    // reads the review material or decides.
    let (_, acme) = server.tenant("acme", ALL_SCOPES).await;
    for token in [&partner, &acme] {
        for refused in [
            token.get(&review_path).await,
            token
                .post(&review_path, json!({"decision": "approve"}))
                .await,
            token
                .post(&review_path, json!({"decision": "reject", "comment": "no"}))
                .await,
        ] {
            assert_error(&refused, 403, "forbidden", "authorization");
            assert!(refused.1["error"]["message"]
                .as_str()
                .unwrap()
                .contains("marketplace:review"));
        }
    }
    // Nor does a token without either marketplace scope list or read submissions.
    assert_error(&acme.get(&path).await, 403, "forbidden", "authorization");
    let (_, still) = reviewer.get(&path).await;
    assert_eq!(still["state"], "in_review", "{still}");

    // A rejection needs a comment (blank is none).
    for comment in [None, Some("   ")] {
        let mut body = json!({"decision": "reject"});
        if let Some(comment) = comment {
            body["comment"] = json!(comment);
        }
        let refused = reviewer.post(&review_path, body).await;
        assert_error(&refused, 422, "invalid_value", "comment");
    }
    let (status, rejected) = reviewer
        .post(
            &review_path,
            json!({"decision": "reject", "comment": "sends email without the user's consent"}),
        )
        .await;
    assert_eq!(
        (status, rejected["state"].as_str()),
        (200, Some("rejected")),
        "{rejected}"
    );

    // The partner's status shows the state and the reason, by the API and the CLI.
    let (_, seen) = partner.get(&path).await;
    assert_eq!(seen["state"], "rejected", "{seen}");
    let last = seen["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (
            last["from"].as_str(),
            last["to"].as_str(),
            last["reason"].as_str()
        ),
        (
            Some("in_review"),
            Some("rejected"),
            Some("sends email without the user's consent")
        ),
        "{seen}"
    );
    let cli = Cli {
        url: server.url.clone(),
        token: partner.token().to_owned(),
        dir: db.dir.path().to_path_buf(),
    };
    let shown = tokio::task::spawn_blocking(move || cli.json(&["integration", "status", &id]))
        .await
        .unwrap();
    assert_eq!(shown["state"], "rejected", "{shown}");
    assert_eq!(
        shown["transitions"].as_array().unwrap().last().unwrap()["reason"],
        "sends email without the user's consent"
    );

    // Final: no decision and no withdrawal moves it.
    for decision in [
        json!({"decision": "approve"}),
        json!({"decision": "request_changes", "comment": "try again"}),
        json!({"decision": "reject", "comment": "twice"}),
    ] {
        let refused = reviewer.post(&review_path, decision).await;
        assert_error(&refused, 409, "conflict", "decision");
    }
    let refused = partner
        .post(&format!("{path}/withdraw"), json!({"reason": "oops"}))
        .await;
    assert_error(&refused, 409, "conflict", "state");
    let (_, after) = partner.get(&path).await;
    assert_eq!(after["state"], "rejected", "{after}");
    assert_eq!(
        after["transitions"].as_array().unwrap().len(),
        seen["transitions"].as_array().unwrap().len(),
        "{after}"
    );
    // Never in the catalog.
    let (_, catalog) = acme.get("/v1/marketplace/integrations").await;
    assert_eq!(catalog["integrations"], json!([]), "{catalog}");
}

on_both_backends!(a_rejection_says_why_and_is_final);
