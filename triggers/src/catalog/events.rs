//! The event schema of each trigger, as JSON Schema: the fields a dispatch must send and the types
//! every sent field must have. Unknown fields are allowed (platforms send more than Actionflow reads),
//! except `secrets` and `execution`, which Actionflow itself puts in the event.

use serde_json::{json, Value};

fn string() -> Value {
    json!({"type": "string"})
}

fn id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 1024})
}

fn metadata() -> Value {
    json!({"type": "object"})
}

fn user() -> Value {
    json!({
        "type": "object",
        "required": ["user_id"],
        "properties": {
            "user_id": id(),
            "email": string(),
            "email_verified": {"type": "boolean"},
            "username": string(),
            "name": string(),
            "phone_number": string(),
            "created_at": string(),
            "app_metadata": metadata(),
            "user_metadata": metadata(),
            "identities": {"type": "array", "items": {"type": "object"}},
        }
    })
}

fn request() -> Value {
    json!({
        "type": "object",
        "properties": {
            "ip": string(),
            "hostname": string(),
            "method": string(),
            "language": string(),
            "user_agent": string(),
            "query": {"type": "object"},
            "body": {"type": "object"},
            "geoip": {"type": "object"},
        }
    })
}

fn client() -> Value {
    json!({
        "type": "object",
        "required": ["client_id"],
        "properties": {"client_id": id(), "name": string(), "metadata": metadata()}
    })
}

fn named() -> Value {
    json!({"type": "object", "properties": {"id": string(), "name": string()}})
}

/// The properties every event may carry, plus `extra`.
fn event(required: &[&str], extra: Value) -> Value {
    let mut properties = json!({
        // The platform's id of this event: the default idempotency key of an async dispatch.
        "id": id(),
        "tenant": named(),
        "request": request(),
        "transaction": {"type": "object"},
        "secrets": {"not": {}, "description": "set by Actionflow at execution"},
        "execution": {"not": {}, "description": "set by Actionflow for each attempt"},
    });
    if let (Some(all), Value::Object(more)) = (properties.as_object_mut(), extra) {
        all.extend(more);
    }
    json!({"type": "object", "required": required, "properties": properties})
}

/// The schema of `trigger_id`'s event, `None` for a trigger the catalog does not know.
pub fn schema(trigger_id: &str) -> Option<Value> {
    let schema = match trigger_id {
        "post-login" => event(
            &["user", "client"],
            json!({
                "user": user(), "client": client(), "connection": named(),
                "organization": named(), "authentication": {"type": "object"},
                "stats": {"type": "object", "properties": {"logins_count": {"type": "integer"}}},
            }),
        ),
        "pre-user-registration" => event(
            &["user"],
            json!({
                "user": {"type": "object", "properties": {
                    "email": string(), "username": string(), "phone_number": string(),
                    "app_metadata": metadata(), "user_metadata": metadata()}},
                "client": client(), "connection": named(),
            }),
        ),
        "post-user-registration" | "post-change-password" => {
            event(&["user"], json!({"user": user(), "connection": named()}))
        }
        "credentials-exchange" => event(
            &["client"],
            json!({
                "client": client(),
                "accessToken": {"type": "object", "properties": {
                    "scope": {"type": "array", "items": string()}}},
                "resource_server": {"type": "object", "properties": {"identifier": string()}},
            }),
        ),
        "send-phone-message" => event(
            &["message_options"],
            json!({
                "user": user(),
                "message_options": {
                    "type": "object",
                    "required": ["recipient", "text"],
                    "properties": {
                        "recipient": id(), "text": string(),
                        "message_type": {"type": "string"}, "action": string(),
                        "language": string(), "code": string(),
                    }
                },
            }),
        ),
        _ => return None,
    };
    Some(schema)
}
