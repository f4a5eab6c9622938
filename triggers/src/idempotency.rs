//! Idempotency keys of async dispatches: the `Idempotency-Key` header, else the event's `id`, each
//! stored under its source so the two never collide.

use serde_json::Value;

use crate::Error;

/// Longest idempotency key accepted.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;

/// Where an async dispatch's idempotency key came from. The stored key is `<source>:<key>`, so the
/// two never collide: an `Idempotency-Key` header equal to some other event's `id` is another key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The `Idempotency-Key` header.
    Header,
    /// The event's `id`, used when no header is sent.
    EventId,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Header => "header",
            KeySource::EventId => "event.id",
        }
    }

    /// The key as stored.
    pub fn stored(self, key: &str) -> String {
        format!("{}:{key}", self.as_str())
    }

    /// A stored key's source and the key as given (`None`: a key stored without a source).
    pub fn split(stored: &str) -> (Option<KeySource>, &str) {
        for source in [KeySource::Header, KeySource::EventId] {
            if let Some(key) = stored
                .strip_prefix(source.as_str())
                .and_then(|rest| rest.strip_prefix(':'))
            {
                return (Some(source), key);
            }
        }
        (None, stored)
    }
}

/// The explicit key, else the event's `id` (already checked to be a string by the schema), as stored.
pub(crate) fn idempotency_key_of(
    explicit: Option<String>,
    event: &Value,
) -> Result<Option<String>, Error> {
    let (key, source) = match explicit {
        Some(key) => (key, KeySource::Header),
        None => match event.get("id").and_then(Value::as_str) {
            Some(id) => (id.to_owned(), KeySource::EventId),
            None => return Ok(None),
        },
    };
    let field = match source {
        KeySource::Header => "Idempotency-Key",
        KeySource::EventId => "event.id",
    };
    if key.is_empty() || key.chars().count() > IDEMPOTENCY_KEY_CHARS_MAX {
        return Err(Error::InvalidField {
            field: field.to_owned(),
            message: format!("must be 1 to {IDEMPOTENCY_KEY_CHARS_MAX} characters"),
        });
    }
    Ok(Some(source.stored(&key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_and_event_id_keys_do_not_collide() {
        let event = json!({"id": "signup-1"});
        let from_event = idempotency_key_of(None, &event).unwrap().unwrap();
        let from_header = idempotency_key_of(Some("signup-1".into()), &json!({}))
            .unwrap()
            .unwrap();
        assert_ne!(from_event, from_header);
        assert_eq!(
            KeySource::split(&from_event),
            (Some(KeySource::EventId), "signup-1")
        );
        assert_eq!(
            KeySource::split(&from_header),
            (Some(KeySource::Header), "signup-1")
        );
        // A header wins over the event's id; a key may itself contain the separator.
        let both = idempotency_key_of(Some("event.id:x".into()), &event).unwrap();
        assert_eq!(both.as_deref(), Some("header:event.id:x"));
        assert_eq!(KeySource::split("legacy"), (None, "legacy"));
    }
}
