//! The closed sets of words stored as text: build status, execution status, binding error policy.

use serde::{Deserialize, Serialize};

/// A stored word that is not one of the expected values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The stored (and serialized) word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(value: &str) -> Result<Self, UnknownValue> {
                match value {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownValue { kind: stringify!($name), value: value.to_owned() }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownValue;

            fn try_from(value: String) -> Result<Self, UnknownValue> {
                value.parse()
            }
        }
    };
}

text_enum! {
    /// Build state of a draft: `pending → building → built | failed`.
    BuildStatus { Pending = "pending", Building = "building", Built = "built", Failed = "failed" }
}

text_enum! {
    /// State of an execution in the durable queue.
    ExecutionStatus {
        /// Waiting for `next_attempt_at`.
        Pending = "pending",
        /// Leased by a worker until `lease_expires_at`.
        Running = "running",
        /// Every action succeeded.
        Final = "final",
        /// Some actions failed under `on_error: continue`.
        Partial = "partial",
        /// The flow failed and will not be retried.
        Failed = "failed",
        /// Attempts exhausted; waits for a manual retry.
        Dead = "dead",
    }
}

text_enum! {
    /// What a flow does when a bound action fails.
    OnError { Fail = "fail", Continue = "continue" }
}
