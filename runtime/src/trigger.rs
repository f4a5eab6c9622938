//! The trigger catalog as the runtime sees it: which handler an action must export for a trigger, whether
//! the host waits for the result, and which `api` methods the handler gets.

use serde::Serialize;

/// Whether the host platform waits for the flow's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// The host waits: the accumulated `api` effects are the answer (post-login, …).
    Sync,
    /// Fire and forget: the dispatch is queued and delivered at least once (post-user-registration, …).
    Async,
}

/// One trigger a flow can be bound to. `api_methods` are dotted names such as `access.deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub id: &'static str,
    pub version: &'static str,
    pub handler: &'static str,
    pub delivery: Delivery,
    pub api_methods: &'static [&'static str],
}

const CACHE: [&str; 3] = ["cache.get", "cache.set", "cache.delete"];

/// Every trigger, in the order `actionflow triggers` lists them.
pub const TRIGGERS: &[Trigger] = &[
    Trigger {
        id: "post-login",
        version: "v3",
        handler: "onExecutePostLogin",
        delivery: Delivery::Sync,
        api_methods: &[
            "access.deny",
            "accessToken.setCustomClaim",
            "idToken.setCustomClaim",
            "user.setAppMetadata",
            "user.setUserMetadata",
            "multifactor.enable",
            "redirect.sendUserTo",
            CACHE[0],
            CACHE[1],
            CACHE[2],
        ],
    },
    Trigger {
        id: "pre-user-registration",
        version: "v2",
        handler: "onExecutePreUserRegistration",
        delivery: Delivery::Sync,
        api_methods: &[
            "access.deny",
            "user.setUserMetadata",
            "user.setAppMetadata",
            "validation.error",
            CACHE[0],
            CACHE[1],
            CACHE[2],
        ],
    },
    Trigger {
        id: "post-user-registration",
        version: "v2",
        handler: "onExecutePostUserRegistration",
        delivery: Delivery::Async,
        api_methods: &CACHE,
    },
    Trigger {
        id: "post-change-password",
        version: "v2",
        handler: "onExecutePostChangePassword",
        delivery: Delivery::Async,
        api_methods: &CACHE,
    },
    Trigger {
        id: "credentials-exchange",
        version: "v2",
        handler: "onExecuteCredentialsExchange",
        delivery: Delivery::Sync,
        api_methods: &[
            "access.deny",
            "accessToken.setCustomClaim",
            CACHE[0],
            CACHE[1],
            CACHE[2],
        ],
    },
    Trigger {
        id: "send-phone-message",
        version: "v2",
        handler: "onExecuteSendPhoneMessage",
        delivery: Delivery::Sync,
        api_methods: &CACHE,
    },
];

/// Looks a trigger up by its id (`post-login`).
pub fn find(id: &str) -> Option<&'static Trigger> {
    TRIGGERS.iter().find(|t| t.id == id)
}

/// The ids of every trigger, for error messages.
pub fn ids() -> Vec<&'static str> {
    TRIGGERS.iter().map(|t| t.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_has_the_cache_and_a_unique_id() {
        for t in TRIGGERS {
            for m in CACHE {
                assert!(t.api_methods.contains(&m), "{} lacks {m}", t.id);
            }
            assert_eq!(TRIGGERS.iter().filter(|o| o.id == t.id).count(), 1);
        }
        assert_eq!(
            find("post-login").map(|t| t.handler),
            Some("onExecutePostLogin")
        );
        assert!(find("nope").is_none());
    }
}
