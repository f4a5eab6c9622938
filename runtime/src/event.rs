//! The event an execution runs on, as the runtime takes it: the JSON text of an object, checked once
//! when made and cheap to clone, so that a caller running many executions on one event (or one it
//! received as text) pays for its serialization once.

use crate::RuntimeError;
use std::fmt;
use std::sync::Arc;

/// The JSON text of an event object. `secrets` is added to it inside the isolate, and the whole is
/// frozen there.
#[derive(Clone, PartialEq, Eq)]
pub struct Event(Arc<str>);

impl Event {
    /// The event `value`, which must be a JSON object.
    pub fn new(value: &serde_json::Value) -> Result<Event, RuntimeError> {
        if !value.is_object() {
            return Err(RuntimeError::EventNotObject);
        }
        Ok(Event(Arc::from(value.to_string())))
    }

    /// The empty event, `{}`.
    pub fn empty() -> Event {
        Event(Arc::from("{}"))
    }

    /// An event given as JSON text; it must be a well-formed JSON object.
    pub fn from_json(text: &str) -> Result<Event, RuntimeError> {
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| RuntimeError::EventNotJson(e.to_string()))?;
        if !text.trim_start().starts_with('{') {
            return Err(RuntimeError::EventNotObject);
        }
        Ok(Event(Arc::from(text)))
    }

    pub fn as_json(&self) -> &str {
        &self.0
    }
}

/// Events hold personal data: `Debug` shows only their size.
impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_objects_are_events() {
        let event = Event::from_json(r#" {"user": {"id": 1}}"#).map(|e| e.as_json().len());
        assert_eq!(event.ok(), Some(20));
        assert!(matches!(
            Event::from_json("[1]"),
            Err(RuntimeError::EventNotObject)
        ));
        assert!(matches!(
            Event::from_json("{\"a\":"),
            Err(RuntimeError::EventNotJson(_))
        ));
        assert!(matches!(
            Event::new(&serde_json::json!("text")),
            Err(RuntimeError::EventNotObject)
        ));
    }
}
