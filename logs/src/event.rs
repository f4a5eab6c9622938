//! Events as the host sends them ([`IncomingEvent`], checked into a store row against the code
//! table) and as the API and the sinks show them ([`record`]: Auth0's shape with `log_id`).

use actionflow_store::{LogEvent, NewLogEvent, Timestamp};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::codes::{self, LEVEL_MAX};
use crate::{Error, Result};

/// Events per ingestion call.
pub const BATCH_MAX: usize = 100;
/// Characters of a text field.
pub const TEXT_CHARS_MAX: usize = 1024;
/// Bytes of `details` as JSON.
pub const DETAILS_BYTES_MAX: usize = 16 * 1024;

/// One event as the host sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomingEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    /// Only for custom `x_` codes; a known code's level comes from the table.
    pub level: Option<u8>,
    pub date: Option<Timestamp>,
    pub description: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub connection: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub strategy: Option<String>,
    pub strategy_type: Option<String>,
    pub details: Option<Value>,
}

/// The level of `code` (with the event's own level for a custom code), or why it is refused.
pub fn level_of(code: &str, given: Option<u8>, field: &str) -> Result<u8> {
    if let Some(known) = codes::lookup(code) {
        return match given {
            Some(level) if level != known.level => Err(Error::invalid(
                format!("{field}.level"),
                format!(
                    "{code} has level {} (only custom x_ codes set their own)",
                    known.level
                ),
            )),
            _ => Ok(known.level),
        };
    }
    if !codes::is_custom(code) {
        return Err(Error::invalid(
            format!("{field}.type"),
            format!("unknown log type code {code:?}; custom codes start with x_ and give a level"),
        ));
    }
    match given {
        Some(level) if level <= LEVEL_MAX => Ok(level),
        Some(level) => Err(Error::invalid(
            format!("{field}.level"),
            format!("{level} is not a level (0 debug … 4 critical)"),
        )),
        None => Err(Error::invalid(
            format!("{field}.level"),
            format!("the custom code {code} needs a level (0 debug … 4 critical)"),
        )),
    }
}

fn text(value: Option<String>, field: &str, name: &str) -> Result<Option<String>> {
    match value {
        Some(v) if v.chars().count() > TEXT_CHARS_MAX => Err(Error::invalid(
            format!("{field}.{name}"),
            format!("longer than {TEXT_CHARS_MAX} characters"),
        )),
        other => Ok(other),
    }
}

/// Checks the `index`th event of a batch into a row to append.
pub fn check(index: usize, event: IncomingEvent) -> Result<NewLogEvent> {
    let field = format!("events[{index}]");
    let code = event.event_type.trim();
    if code.is_empty() || code.len() > 64 {
        return Err(Error::invalid(
            format!("{field}.type"),
            "must be 1 to 64 characters",
        ));
    }
    let level = level_of(code, event.level, &field)?;
    let details = event.details.unwrap_or(Value::Null);
    if !(details.is_object() || details.is_null()) {
        return Err(Error::invalid(
            format!("{field}.details"),
            "must be an object",
        ));
    }
    if details.to_string().len() > DETAILS_BYTES_MAX {
        return Err(Error::invalid(
            format!("{field}.details"),
            format!("larger than {DETAILS_BYTES_MAX} bytes as JSON"),
        ));
    }
    Ok(NewLogEvent {
        date: event.date,
        event_type: code.to_owned(),
        level: i64::from(level),
        description: text(event.description, &field, "description")?,
        client_id: text(event.client_id, &field, "client_id")?,
        client_name: text(event.client_name, &field, "client_name")?,
        connection: text(event.connection, &field, "connection")?,
        ip: text(event.ip, &field, "ip")?,
        user_agent: text(event.user_agent, &field, "user_agent")?,
        user_id: text(event.user_id, &field, "user_id")?,
        user_name: text(event.user_name, &field, "user_name")?,
        strategy: text(event.strategy, &field, "strategy")?,
        strategy_type: text(event.strategy_type, &field, "strategy_type")?,
        details,
    })
}

/// Checks a whole batch (1 to [`BATCH_MAX`] events); the first bad event refuses all.
pub fn check_batch(events: Vec<IncomingEvent>) -> Result<Vec<NewLogEvent>> {
    if events.is_empty() || events.len() > BATCH_MAX {
        return Err(Error::invalid(
            "events",
            format!("send 1 to {BATCH_MAX} events per call"),
        ));
    }
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| check(i, e))
        .collect()
}

/// An event's public form: `log_id`, `date`, `type`, `level`, `description` and the fields it has.
pub fn record(event: &LogEvent) -> Value {
    let mut object = Map::new();
    object.insert("log_id".into(), json!(event.seq.to_string()));
    object.insert(
        "date".into(),
        json!(event
            .date
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    );
    object.insert("type".into(), json!(event.event_type));
    object.insert("level".into(), json!(event.level));
    let optional = [
        ("description", &event.description),
        ("client_id", &event.client_id),
        ("client_name", &event.client_name),
        ("connection", &event.connection),
        ("ip", &event.ip),
        ("user_agent", &event.user_agent),
        ("user_id", &event.user_id),
        ("user_name", &event.user_name),
        ("strategy", &event.strategy),
        ("strategy_type", &event.strategy_type),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            object.insert(name.into(), json!(value));
        }
    }
    if !event.details.is_null() {
        object.insert("details".into(), event.details.clone());
    }
    Value::Object(object)
}

/// Parses a `log_id` (a positive decimal number; `0` is "before the first").
pub fn parse_log_id(text: &str, field: &str) -> Result<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| Error::invalid(field, format!("{text:?} is not a log_id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(code: &str, level: Option<u8>) -> IncomingEvent {
        IncomingEvent {
            event_type: code.to_owned(),
            level,
            ..IncomingEvent::default()
        }
    }

    #[test]
    fn known_codes_take_the_tables_level_and_custom_ones_their_own() {
        assert_eq!(
            check(0, incoming("fp", None)).map(|e| e.level).ok(),
            Some(3)
        );
        assert_eq!(
            check(0, incoming("x_mfa", Some(2))).map(|e| e.level).ok(),
            Some(2)
        );
        let unknown = check_batch(vec![incoming("s", None), incoming("zz", None)]);
        let Err(Error::Invalid { field, message }) = unknown else {
            panic!("{unknown:?}")
        };
        assert_eq!(field, "events[1].type");
        assert!(message.contains("\"zz\""), "{message}");
        assert!(matches!(
            check(0, incoming("f", Some(1))),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            check(0, incoming("x_a", None)),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            check(0, incoming("x_a", Some(5))),
            Err(Error::Invalid { .. })
        ));
        assert!(check_batch(Vec::new()).is_err());
        assert!(check_batch(vec![incoming("s", None); 101]).is_err());
    }
}
