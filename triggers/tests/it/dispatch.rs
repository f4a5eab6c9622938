//! Sync flows through the real runtime: order, metadata along the chain, deny short-circuit,
//! fail closed and `on_error: continue`, the flow budget, schema rejection, live logs.

use actionflow_store::{Action, OnError};
use actionflow_triggers::{
    bindings, BindingRequest, DispatchSettings, Dispatched, Error, FlowReport, FlowStatus,
    ResultStatus,
};
use serde_json::{json, Value};

use crate::harness::{by_id, deployed, dispatcher, tenant, Shared};

on_both_backends!(
    order_metadata_and_deny,
    failures_and_budget,
    bad_events_and_logs
);

/// An action appending its name to `app_metadata.trail` (as its predecessors left it).
fn trail(name: &str, extra: &str) -> String {
    format!(
        "exports.onExecutePostLogin = async (event, api) => {{
            const trail = [...(event.user.app_metadata.trail || []), '{name}'];
            console.log('{name} sees ' + JSON.stringify(event.user.app_metadata.trail || []));
            api.user.setAppMetadata('trail', trail);
            {extra}
            api.accessToken.setCustomClaim('{name}', trail.length);
        }};"
    )
}

fn login_event() -> Value {
    json!({"user": {"user_id": "auth0|1", "email": "a@example.com", "app_metadata": {}},
        "client": {"client_id": "web"}})
}

async fn bind(store: &Shared, t: &str, requests: Vec<BindingRequest>) {
    bindings::set(store.as_ref(), t, "post-login", &requests, 20)
        .await
        .unwrap();
}

fn continuing(action: &Action) -> BindingRequest {
    BindingRequest {
        on_error: Some(OnError::Continue),
        ..by_id(action)
    }
}

fn report(dispatched: Dispatched) -> FlowReport {
    match dispatched {
        Dispatched::Sync { report, .. } => report,
        Dispatched::Async(_) => panic!("post-login is sync"),
    }
}

fn ran(report: &FlowReport) -> Vec<(&str, ResultStatus)> {
    report
        .results
        .iter()
        .map(|r| (r.display_name.as_str(), r.status))
        .collect()
}

async fn order_metadata_and_deny(store: Shared) {
    let t = tenant(&store).await;
    let d = dispatcher(&store, DispatchSettings::default());
    let a = deployed(&store, &t, "a", &["post-login"], &trail("a", "")).await;
    let b = deployed(&store, &t, "b", &["post-login"], &trail("b", "")).await;
    let c = deployed(&store, &t, "c", &["post-login"], &trail("c", "")).await;
    bind(&store, &t, vec![by_id(&c), by_id(&a), by_id(&b)]).await;
    let r = report(
        d.dispatch(&t, "post-login", login_event(), None)
            .await
            .unwrap(),
    );
    assert_eq!(r.status, FlowStatus::Completed);
    use ResultStatus::Completed;
    assert_eq!(
        ran(&r),
        [("c", Completed), ("a", Completed), ("b", Completed)]
    );
    assert_eq!(r.results[2].logs[0].message, r#"b sees ["c","a"]"#);
    assert_eq!(r.results[0].version, Some(1));
    let methods: Vec<_> = r.effects.iter().map(|e| e.method.as_str()).collect();
    assert_eq!(methods.len(), 6);
    assert_eq!(r.effects[4].args, [json!("trail"), json!(["c", "a", "b"])]);
    assert_eq!(r.effects[5].args, [json!("b"), json!(3)]);

    // A deny in the middle stops the chain: `b` never runs.
    let deny = deployed(
        &store,
        &t,
        "deny",
        &["post-login"],
        &trail("deny", "api.access.deny('blocked', 'Not today');"),
    )
    .await;
    bind(&store, &t, vec![by_id(&a), by_id(&deny), by_id(&b)]).await;
    let r = report(
        d.dispatch(&t, "post-login", login_event(), None)
            .await
            .unwrap(),
    );
    assert_eq!(r.status, FlowStatus::Denied);
    assert_eq!(ran(&r), [("a", Completed), ("deny", Completed)]);
    let denial = r
        .effects
        .iter()
        .find(|e| e.method == "access.deny")
        .unwrap();
    assert_eq!(denial.args, [json!("blocked"), json!("Not today")]);
    assert!(!r
        .effects
        .iter()
        .any(|e| e.args.first() == Some(&json!("b"))));

    // An empty flow completes with no effects.
    bind(&store, &t, vec![]).await;
    let r = report(
        d.dispatch(&t, "post-login", login_event(), None)
            .await
            .unwrap(),
    );
    assert_eq!(
        (r.status, r.effects.len(), r.results.len()),
        (FlowStatus::Completed, 0, 0)
    );
}

async fn failures_and_budget(store: Shared) {
    let t = tenant(&store).await;
    let d = dispatcher(
        &store,
        DispatchSettings {
            flow_ms_max: 700,
            attempts_max: 3,
        },
    );
    let a = deployed(&store, &t, "a", &["post-login"], &trail("a", "")).await;
    let b = deployed(&store, &t, "b", &["post-login"], &trail("b", "")).await;
    let boom = deployed(
        &store,
        &t,
        "boom",
        &["post-login"],
        &trail("boom", "throw new Error('upstream down');"),
    )
    .await;

    // Fail closed: the thrower's effects are discarded and `b` does not run.
    bind(&store, &t, vec![by_id(&a), by_id(&boom), by_id(&b)]).await;
    let r = report(
        d.dispatch(&t, "post-login", login_event(), None)
            .await
            .unwrap(),
    );
    assert_eq!(r.status, FlowStatus::Failed);
    assert_eq!(
        ran(&r),
        [
            ("a", ResultStatus::Completed),
            ("boom", ResultStatus::Threw)
        ]
    );
    let error = r.error.as_ref().unwrap();
    assert_eq!(error.action_id.as_deref(), Some(boom.id.as_str()));
    assert_eq!(error.message, "action `boom` threw: Error: upstream down");
    assert_eq!(r.effects.len(), 2);

    // `on_error: continue`: the flow goes on without the thrower's effects.
    bind(&store, &t, vec![by_id(&a), continuing(&boom), by_id(&b)]).await;
    let r = report(
        d.dispatch(&t, "post-login", login_event(), None)
            .await
            .unwrap(),
    );
    assert_eq!(r.status, FlowStatus::Partial);
    assert_eq!(r.results[2].logs[0].message, r#"b sees ["a"]"#);
    assert_eq!(r.effects.len(), 4);

    // …but a deny is never dropped: an action that denied and then threw still denies (fail closed).
    let deny_then_throw = "exports.onExecutePostLogin = async (event, api) => {
        api.access.deny('blocked country'); throw new Error('after deny'); };";
    let denier = deployed(&store, &t, "denier", &["post-login"], deny_then_throw).await;
    bind(&store, &t, vec![by_id(&a), continuing(&denier), by_id(&b)]).await;
    let r = report(
        d.dispatch(&t, "post-login", login_event(), None)
            .await
            .unwrap(),
    );
    assert_eq!(r.status, FlowStatus::Denied);
    assert_eq!(
        ran(&r),
        [
            ("a", ResultStatus::Completed),
            ("denier", ResultStatus::Threw)
        ]
    );
    assert!(r.effects.iter().any(|c| c.method == "access.deny"));

    // One budget for the whole flow: 400 ms + 400 ms does not fit in 700 ms.
    let spin = |name: &str| {
        trail(
            name,
            "const end = Date.now() + 400; while (Date.now() < end) {}",
        )
    };
    let slow1 = deployed(&store, &t, "slow1", &["post-login"], &spin("slow1")).await;
    let slow2 = deployed(&store, &t, "slow2", &["post-login"], &spin("slow2")).await;
    bind(&store, &t, vec![by_id(&slow1), by_id(&slow2), by_id(&b)]).await;
    let clock = std::time::Instant::now();
    let r = report(
        d.dispatch(&t, "post-login", login_event(), None)
            .await
            .unwrap(),
    );
    let elapsed = clock.elapsed().as_millis();
    assert_eq!(r.status, FlowStatus::Failed);
    assert_eq!(
        ran(&r),
        [
            ("slow1", ResultStatus::Completed),
            ("slow2", ResultStatus::TimedOut)
        ]
    );
    assert!(
        elapsed < 1_100,
        "the flow took {elapsed} ms with a 700 ms budget"
    );
    assert!(
        r.results[1].duration_ms < 450.0,
        "{}",
        r.results[1].duration_ms
    );
}

async fn bad_events_and_logs(store: Shared) {
    let t = tenant(&store).await;
    let d = dispatcher(&store, DispatchSettings::default());
    let a = deployed(&store, &t, "a", &["post-login"], &trail("a", "")).await;
    bind(&store, &t, vec![by_id(&a)]).await;
    let mut event = login_event();
    event["user"]["email"] = json!(5);
    let error = d.dispatch(&t, "post-login", event, None).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "event.user.email: expected a string, got a number"
    );
    assert_eq!(error.field(), Some("event.user.email"));
    let error = d
        .dispatch(&t, "post-login", json!({"user": {"user_id": "u"}}), None)
        .await;
    assert_eq!(error.unwrap_err().to_string(), "event.client: is required");
    let error = d
        .dispatch(&t, "nope", login_event(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnknownTrigger { .. }));

    let mut follower = d.logs().subscribe();
    report(
        d.dispatch(&t, "post-login", login_event(), None)
            .await
            .unwrap(),
    );
    let line = follower.recv().await.unwrap();
    assert_eq!(
        (line.action_id.as_str(), line.message.as_str()),
        (a.id.as_str(), "a sees []")
    );
    assert_eq!(
        (
            line.tenant_id.as_str(),
            line.version,
            line.execution_id.clone()
        ),
        (t.as_str(), 1, None)
    );
}
