//! Binding rules as plain functions over data: how many, which actions, where. The edits in
//! [`super`] load the flow, call these, and store the result.

use actionflow_store::{Action, ActionVersion, Binding, OnError};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Default of `bindings_per_trigger_max`, Auth0's limit.
pub const BINDINGS_PER_TRIGGER_MAX: usize = 20;

/// How a binding names its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    ActionId,
    ActionName,
}

/// `{"type": "action_id" | "action_name", "value": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRef {
    #[serde(rename = "type")]
    pub kind: RefKind,
    pub value: String,
}

/// One requested binding: `{"ref": {…}, "display_name": "…", "on_error": "fail" | "continue"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingRequest {
    #[serde(rename = "ref")]
    pub action: ActionRef,
    /// Defaults to the action's name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Defaults to `fail`: a failing action fails the flow closed.
    #[serde(default)]
    pub on_error: Option<OnError>,
}

/// Longest display name kept.
pub const DISPLAY_NAME_CHARS_MAX: usize = 256;

/// The first character a name shown to people must not hold, with why: control characters (NUL,
/// line breaks, escapes) and the bidirectional controls that make text display other than it reads
/// (U+202E RIGHT-TO-LEFT OVERRIDE turns `exe.txt` into `txt.exe` on screen).
pub fn unsafe_char(text: &str) -> Option<(char, &'static str)> {
    text.chars().find_map(|c| match c {
        c if c.is_control() => Some((c, "a control character")),
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some((c, "a bidirectional control")),
        _ => None,
    })
}

/// The message for a name holding [`unsafe_char`]'s character.
pub fn unsafe_char_message(what: &str, text: &str) -> Option<String> {
    unsafe_char(text)
        .map(|(c, kind)| format!("{what} must not hold {kind} (U+{:04X})", u32::from(c)))
}

/// Refuses a flow longer than `max`.
pub fn check_count(count: usize, max: usize) -> Result<(), Error> {
    if count > max {
        return Err(Error::TooManyBindings { max, count });
    }
    Ok(())
}

/// Whether `action`, whose deployed version is `version`, may be bound to `trigger_id`.
pub fn check_bindable(
    field: &str,
    action: &Action,
    version: Option<&ActionVersion>,
    trigger_id: &str,
) -> Result<(), Error> {
    let refuse = |reason: String| Error::NotBindable {
        field: field.to_owned(),
        action: action.name.clone(),
        trigger: trigger_id.to_owned(),
        reason,
    };
    let Some(version) = version else {
        return Err(refuse("it has no deployed version".to_owned()));
    };
    if !version.supported_triggers.iter().any(|t| t == trigger_id) {
        return Err(refuse(format!(
            "its deployed version {} supports only {}",
            version.number,
            list_or_none(&version.supported_triggers)
        )));
    }
    Ok(())
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "no trigger".to_owned()
    } else {
        items.join(", ")
    }
}

/// The binding a request makes of `action`, with defaults applied.
pub fn binding_of(
    field: &str,
    request: &BindingRequest,
    action: &Action,
) -> Result<Binding, Error> {
    let display_name = request
        .display_name
        .clone()
        .unwrap_or_else(|| action.name.clone());
    if display_name.trim().is_empty() || display_name.chars().count() > DISPLAY_NAME_CHARS_MAX {
        return Err(Error::InvalidField {
            field: format!("{field}.display_name"),
            message: format!("must be 1 to {DISPLAY_NAME_CHARS_MAX} characters"),
        });
    }
    if let Some(message) = unsafe_char_message("a display name", &display_name) {
        return Err(Error::InvalidField {
            field: format!("{field}.display_name"),
            message,
        });
    }
    Ok(Binding {
        action_id: action.id.clone(),
        display_name,
        on_error: request.on_error.unwrap_or(OnError::Fail),
    })
}

/// Refuses a flow binding one action twice (`field` names the list, e.g. `bindings`).
pub fn check_unique(field: &str, bindings: &[Binding], names: &[String]) -> Result<(), Error> {
    for (index, binding) in bindings.iter().enumerate() {
        if bindings[..index]
            .iter()
            .any(|b| b.action_id == binding.action_id)
        {
            return Err(Error::DuplicateBinding {
                field: format!("{field}[{index}]"),
                action: names
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| binding.action_id.clone()),
            });
        }
    }
    Ok(())
}

/// The flow with `binding` inserted at `position` (0 = first; `None` = last).
pub fn insert_at(
    bindings: &[Binding],
    binding: Binding,
    position: Option<usize>,
    action_name: &str,
) -> Result<Vec<Binding>, Error> {
    if bindings.iter().any(|b| b.action_id == binding.action_id) {
        return Err(Error::DuplicateBinding {
            field: "ref".to_owned(),
            action: action_name.to_owned(),
        });
    }
    let position = position.unwrap_or(bindings.len());
    if position > bindings.len() {
        return Err(Error::InvalidPosition {
            position,
            len: bindings.len(),
        });
    }
    let mut flow = bindings.to_vec();
    flow.insert(position, binding);
    Ok(flow)
}

/// The flow without the binding of `action_id`; `NotBound` when it is not there.
pub fn remove(
    bindings: &[Binding],
    action_id: &str,
    action_name: &str,
    trigger_id: &str,
) -> Result<Vec<Binding>, Error> {
    if !bindings.iter().any(|b| b.action_id == action_id) {
        return Err(Error::NotBound {
            field: "ref".to_owned(),
            action: action_name.to_owned(),
            trigger: trigger_id.to_owned(),
        });
    }
    Ok(bindings
        .iter()
        .filter(|b| b.action_id != action_id)
        .cloned()
        .collect())
}
