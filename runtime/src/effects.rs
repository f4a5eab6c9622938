//! What an action's `api` calls change in the event the next action of a flow sees: metadata set
//! by `api.user.setAppMetadata` / `setUserMetadata`. Other effects only accumulate for the host. Here
//! (and not with flows) so that an engine can run a chain of actions in one hand-off.

use crate::ApiCall;
use serde_json::{Map, Value};

/// The method that stops a sync flow: nothing after it runs.
pub const DENY: &str = "access.deny";

/// Applies one call to the event passed along the chain; whether the event may have changed.
pub fn apply(event: &mut Value, call: &ApiCall) -> bool {
    let field = match call.method.as_str() {
        "user.setAppMetadata" => "app_metadata",
        "user.setUserMetadata" => "user_metadata",
        _ => return false,
    };
    let (Some(Value::String(name)), value) = (call.args.first(), call.args.get(1)) else {
        return false;
    };
    let Some(user) = event.get_mut("user").and_then(Value::as_object_mut) else {
        return false;
    };
    let metadata = user
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Some(fields) = metadata.as_object_mut() {
        match value {
            // Auth0 semantics: setting a key to null (or undefined) deletes it.
            None | Some(Value::Null) => {
                fields.remove(name);
            }
            Some(value) => {
                fields.insert(name.clone(), value.clone());
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(method: &str, args: Value) -> ApiCall {
        ApiCall {
            method: method.to_owned(),
            args: args.as_array().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn metadata_calls_change_the_user() {
        let mut event = json!({"user": {"user_id": "u", "app_metadata": {"old": 1}}});
        assert!(apply(
            &mut event,
            &call("user.setAppMetadata", json!(["plan", "pro"])),
        ));
        apply(
            &mut event,
            &call("user.setAppMetadata", json!(["old", null])),
        );
        apply(
            &mut event,
            &call("user.setUserMetadata", json!(["lang", "fr"])),
        );
        assert!(!apply(
            &mut event,
            &call("accessToken.setCustomClaim", json!(["x", 1])),
        ));
        assert_eq!(
            event,
            json!({"user": {"user_id": "u", "app_metadata": {"plan": "pro"},
                "user_metadata": {"lang": "fr"}}})
        );
    }
}
