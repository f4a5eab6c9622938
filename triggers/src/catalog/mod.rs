//! The trigger catalog: the runtime's triggers (handler, delivery, api methods) with the event schema
//! of each, and validation of a dispatched event against it.

mod events;
mod validate;

use std::collections::HashMap;
use std::sync::OnceLock;

use actionflow_runtime::trigger::{self, Trigger, TRIGGERS};
use serde_json::Value;

use crate::Error;

pub use validate::validate;

/// A trigger with its event schema, as `GET /v1/triggers` describes it.
#[derive(Debug, Clone, Copy)]
pub struct TriggerSpec {
    pub trigger: &'static Trigger,
    pub event_schema: &'static Value,
}

fn schemas() -> &'static HashMap<&'static str, Value> {
    static SCHEMAS: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        TRIGGERS
            .iter()
            .filter_map(|t| events::schema(t.id).map(|schema| (t.id, schema)))
            .collect()
    })
}

/// Every trigger, in the runtime's order.
pub fn catalog() -> Vec<TriggerSpec> {
    TRIGGERS.iter().filter_map(|t| spec_of(t).ok()).collect()
}

/// The trigger with this id; `UnknownTrigger` (listing the known ids) otherwise.
pub fn find(trigger_id: &str) -> Result<TriggerSpec, Error> {
    let unknown = || Error::UnknownTrigger {
        id: trigger_id.to_owned(),
        known: trigger::ids().join(", "),
    };
    spec_of(trigger::find(trigger_id).ok_or_else(unknown)?)
}

fn spec_of(trigger: &'static Trigger) -> Result<TriggerSpec, Error> {
    let event_schema = schemas()
        .get(trigger.id)
        .ok_or_else(|| Error::UnknownTrigger {
            id: trigger.id.to_owned(),
            known: trigger::ids().join(", "),
        })?;
    Ok(TriggerSpec {
        trigger,
        event_schema,
    })
}

impl TriggerSpec {
    /// Checks a dispatched event; the error names the field (`event.user.email: expected a string`).
    pub fn validate_event(&self, event: &Value) -> Result<(), Error> {
        validate(self.event_schema, event, "event")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_runtime_trigger_has_a_schema() {
        assert_eq!(catalog().len(), TRIGGERS.len());
        for spec in catalog() {
            assert_eq!(spec.event_schema["type"], "object", "{}", spec.trigger.id);
        }
        assert!(matches!(find("nope"), Err(Error::UnknownTrigger { .. })));
    }

    #[test]
    fn each_trigger_takes_its_minimal_event_and_names_what_is_missing() {
        let cases = [
            (
                "post-login",
                json!({"user": {"user_id": "u"}, "client": {"client_id": "c"}}),
                "event.user",
            ),
            (
                "pre-user-registration",
                json!({"user": {"email": "a@b.c"}}),
                "event.user",
            ),
            (
                "post-user-registration",
                json!({"user": {"user_id": "u"}}),
                "event.user",
            ),
            (
                "post-change-password",
                json!({"user": {"user_id": "u"}}),
                "event.user",
            ),
            (
                "credentials-exchange",
                json!({"client": {"client_id": "c"}}),
                "event.client",
            ),
            (
                "send-phone-message",
                json!({"message_options": {"recipient": "+1", "text": "hi"}}),
                "event.message_options",
            ),
        ];
        for (trigger, event, first_required) in cases {
            let spec = find(trigger).unwrap();
            spec.validate_event(&event).unwrap();
            let error = spec.validate_event(&json!({})).unwrap_err();
            assert_eq!(error.field(), Some(first_required), "{trigger}");
        }
    }

    #[test]
    fn post_login_events_are_checked() {
        let login = find("post-login").unwrap();
        let good = json!({"user": {"user_id": "auth0|1", "email": "a@b.c"},
            "client": {"client_id": "c1"}, "request": {"ip": "1.2.3.4"}, "extra": [1]});
        login.validate_event(&good).unwrap();
        let bad = json!({"user": {"user_id": "auth0|1", "email": 5}, "client": {"client_id": "c"}});
        assert_eq!(
            login.validate_event(&bad).unwrap_err().to_string(),
            "event.user.email: expected a string, got a number"
        );
        let secrets = json!({"user": {"user_id": "u"}, "client": {"client_id": "c"},
            "secrets": {}});
        assert_eq!(
            login.validate_event(&secrets).unwrap_err().to_string(),
            "event.secrets: must not be sent (set by Actionflow at execution)"
        );
        assert_eq!(
            login.validate_event(&json!([])).unwrap_err().to_string(),
            "event: expected an object, got an array"
        );
    }
}
