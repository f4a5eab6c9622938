//! Checks a JSON value against the small subset of JSON Schema the catalog's event schemas use:
//! `type` (one name or a list), `properties`, `required`, `additionalProperties: false`, `items`,
//! `minLength`, `maxLength`, and `not` (with `{}`: a field that must be absent). Errors name the path of the offending field (`event.user.email`).

use serde_json::Value;

use crate::Error;

/// Deepest nesting checked; deeper values are refused rather than walked.
const DEPTH_MAX: usize = 32;

/// Validates `value` (found at `path`) against `schema`; the first mismatch is the error.
pub fn validate(schema: &Value, value: &Value, path: &str) -> Result<(), Error> {
    check(schema, value, path, 0)
}

fn invalid(path: &str, message: impl Into<String>) -> Error {
    Error::InvalidEvent {
        field: path.to_owned(),
        message: message.into(),
    }
}

fn check(schema: &Value, value: &Value, path: &str, depth: usize) -> Result<(), Error> {
    if depth > DEPTH_MAX {
        return Err(invalid(
            path,
            format!("nested deeper than {DEPTH_MAX} levels"),
        ));
    }
    if let Some(forbidden) = schema.get("not") {
        if check(forbidden, value, path, depth + 1).is_ok() {
            let why = schema.get("description").and_then(Value::as_str);
            return Err(invalid(
                path,
                format!("must not be sent ({})", why.unwrap_or("forbidden")),
            ));
        }
    }
    if let Some(expected) = schema.get("type") {
        check_type(expected, value, path)?;
    }
    match value {
        Value::Object(fields) => {
            check_object(schema, fields, path, depth)?;
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{index}]"), depth + 1)?;
                }
            }
        }
        Value::String(text) => check_length(schema, text, path)?,
        _ => {}
    }
    Ok(())
}

fn check_object(
    schema: &Value,
    fields: &serde_json::Map<String, Value>,
    path: &str,
    depth: usize,
) -> Result<(), Error> {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !fields.contains_key(name) {
                return Err(invalid(&format!("{path}.{name}"), "is required"));
            }
        }
    }
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    for (name, field) in fields {
        match properties.and_then(|p| p.get(name)) {
            Some(field_schema) => check(field_schema, field, &format!("{path}.{name}"), depth + 1)?,
            None if closed => {
                return Err(invalid(&format!("{path}.{name}"), "is not a known field"));
            }
            None => {}
        }
    }
    Ok(())
}

fn check_type(expected: &Value, value: &Value, path: &str) -> Result<(), Error> {
    let names: Vec<&str> = match expected {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    if names.iter().any(|name| is_type(name, value)) {
        return Ok(());
    }
    let wanted: Vec<String> = names.iter().map(|name| article(name)).collect();
    Err(invalid(
        path,
        format!("expected {}, got {}", wanted.join(" or "), describe(value)),
    ))
}

fn is_type(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn check_length(schema: &Value, text: &str, path: &str) -> Result<(), Error> {
    let chars = text.chars().count();
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        if (chars as u64) < min {
            return Err(invalid(path, format!("must be at least {min} characters")));
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if chars as u64 > max {
            return Err(invalid(path, format!("must be at most {max} characters")));
        }
    }
    Ok(())
}

fn article(name: &str) -> String {
    match name {
        "object" | "array" | "integer" => format!("an {name}"),
        "null" => "null".to_owned(),
        _ => format!("a {name}"),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(schema: Value, value: Value) -> String {
        match validate(&schema, &value, "event") {
            Err(e) => e.to_string(),
            Ok(()) => String::from("ok"),
        }
    }

    #[test]
    fn names_the_field_and_the_problem() {
        let schema = json!({"type": "object", "required": ["user"], "properties": {
            "user": {"type": "object", "required": ["user_id"], "properties": {
                "user_id": {"type": "string", "minLength": 1},
                "email": {"type": ["string", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}}}}}});
        assert_eq!(error(schema.clone(), json!({})), "event.user: is required");
        assert_eq!(
            error(
                schema.clone(),
                json!({"user": {"user_id": "u", "email": 3}})
            ),
            "event.user.email: expected a string or null, got a number"
        );
        assert_eq!(
            error(schema.clone(), json!({"user": {"user_id": ""}})),
            "event.user.user_id: must be at least 1 characters"
        );
        assert_eq!(
            error(
                schema.clone(),
                json!({"user": {"user_id": "u", "tags": ["a", 1]}})
            ),
            "event.user.tags[1]: expected a string, got a number"
        );
        assert_eq!(
            error(schema, json!({"user": {"user_id": "u", "extra": {"x": 1}}})),
            "ok"
        );
        let closed = json!({"type": "object", "additionalProperties": false, "properties": {}});
        assert_eq!(
            error(closed, json!({"x": 1})),
            "event.x: is not a known field"
        );
    }

    #[test]
    fn refuses_deep_nesting() {
        let mut value = json!(1);
        for _ in 0..40 {
            value = json!({ "a": value });
        }
        let mut schema = json!({"type": "integer"});
        for _ in 0..40 {
            schema = json!({"type": "object", "properties": {"a": schema}});
        }
        assert!(error(schema, value).contains("nested deeper than"));
    }
}
