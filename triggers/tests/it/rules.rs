//! The binding rules as plain functions: count, bindability, uniqueness, insert and remove.

use actionflow_store::{Action, ActionVersion, Binding, BuildStatus, OnError};
use actionflow_triggers::bindings::rules;
use actionflow_triggers::Error;

fn binding(id: &str) -> Binding {
    Binding {
        action_id: id.to_owned(),
        display_name: id.to_uppercase(),
        on_error: OnError::Fail,
    }
}

fn ids(flow: &[Binding]) -> Vec<&str> {
    flow.iter().map(|b| b.action_id.as_str()).collect()
}

fn action() -> Action {
    Action {
        id: "a1".into(),
        tenant_id: "t".into(),
        name: "geo".into(),
        supported_triggers: vec!["post-login".into()],
        code: String::new(),
        dependencies: Vec::new(),
        runtime: "node22".into(),
        secret_names: Vec::new(),
        status: BuildStatus::Built,
        build_errors: Vec::new(),
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        deployed_version: Some(2),
    }
}

fn version(triggers: &[&str]) -> ActionVersion {
    ActionVersion {
        id: "v2".into(),
        tenant_id: "t".into(),
        action_id: "a1".into(),
        number: 2,
        code: String::new(),
        dependencies: Vec::new(),
        lockfile: serde_json::json!({}),
        runtime: "node22".into(),
        secret_names: Vec::new(),
        supported_triggers: triggers.iter().map(|t| (*t).to_owned()).collect(),
        copied_from: None,
        created_at: chrono::Utc::now(),
        is_current: true,
    }
}

#[test]
fn insert_and_remove_keep_the_others_in_order() {
    let flow = vec![binding("a"), binding("b")];
    let first = rules::insert_at(&flow, binding("x"), Some(0), "x").unwrap();
    assert_eq!(ids(&first), ["x", "a", "b"]);
    let middle = rules::insert_at(&flow, binding("x"), Some(1), "x").unwrap();
    assert_eq!(ids(&middle), ["a", "x", "b"]);
    let last = rules::insert_at(&flow, binding("x"), None, "x").unwrap();
    assert_eq!(ids(&last), ["a", "b", "x"]);
    assert!(matches!(
        rules::insert_at(&flow, binding("x"), Some(3), "x"),
        Err(Error::InvalidPosition {
            position: 3,
            len: 2
        })
    ));
    let duplicate = rules::insert_at(&flow, binding("a"), None, "A").unwrap_err();
    assert_eq!(
        duplicate.to_string(),
        "ref: action `A` is already bound to this trigger"
    );
    assert_eq!(
        ids(&rules::remove(&middle, "x", "x", "post-login").unwrap()),
        ["a", "b"]
    );
    let missing = rules::remove(&flow, "x", "geo", "post-login").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "ref: action `geo` is not bound to post-login"
    );
    assert_eq!(missing.field(), Some("ref"));
}

#[test]
fn count_and_uniqueness() {
    rules::check_count(20, rules::BINDINGS_PER_TRIGGER_MAX).unwrap();
    let error = rules::check_count(21, rules::BINDINGS_PER_TRIGGER_MAX).unwrap_err();
    assert_eq!(
        error.to_string(),
        "a flow holds at most 20 bindings; this one would hold 21"
    );
    let flow = vec![binding("a"), binding("b"), binding("a")];
    let names = vec!["A".to_owned(), "B".to_owned(), "A".to_owned()];
    let error = rules::check_unique("bindings", &flow, &names).unwrap_err();
    assert_eq!(error.field(), Some("bindings[2]"));
}

#[test]
fn only_a_deployed_version_supporting_the_trigger_is_bindable() {
    let action = action();
    rules::check_bindable(
        "bindings[0]",
        &action,
        Some(&version(&["post-login"])),
        "post-login",
    )
    .unwrap();
    let error = rules::check_bindable("bindings[0]", &action, None, "post-login").unwrap_err();
    assert_eq!(
        error.to_string(),
        "bindings[0]: action `geo` cannot be bound to post-login: it has no deployed version"
    );
    let error = rules::check_bindable(
        "bindings[1]",
        &action,
        Some(&version(&["post-user-registration"])),
        "post-login",
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "bindings[1]: action `geo` cannot be bound to post-login: its deployed version 2 \
         supports only post-user-registration"
    );
}

#[test]
fn display_names_default_to_the_action_name_and_are_bounded() {
    let action = action();
    let request: actionflow_triggers::BindingRequest = serde_json::from_value(
        serde_json::json!({"ref": {"type": "action_id", "value": "a1"},
            "on_error": "continue"}),
    )
    .unwrap();
    let made = rules::binding_of("bindings[0]", &request, &action).unwrap();
    assert_eq!(
        (made.display_name.as_str(), made.on_error),
        ("geo", OnError::Continue)
    );
    let long = actionflow_triggers::BindingRequest {
        display_name: Some("x".repeat(300)),
        ..request
    };
    let error = rules::binding_of("bindings[0]", &long, &action).unwrap_err();
    assert_eq!(error.field(), Some("bindings[0].display_name"));
    let unknown = serde_json::from_value::<actionflow_triggers::BindingRequest>(
        serde_json::json!({"ref": {"type": "action_id", "value": "a1"}, "colour": 1}),
    );
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("unknown field `colour`"));
}
