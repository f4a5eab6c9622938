//! The submission state machine, as plain data: `submitted → checking → checks_failed | in_review
//! → changes_requested | rejected | approved → published`, and `withdrawn` by the publisher
//! before publication. The store changes a state only from the states listed here.

/// A submission's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Submitted,
    Checking,
    ChecksFailed,
    InReview,
    ChangesRequested,
    Rejected,
    Approved,
    Published,
    Withdrawn,
}

impl State {
    pub const ALL: &'static [State] = &[
        State::Submitted,
        State::Checking,
        State::ChecksFailed,
        State::InReview,
        State::ChangesRequested,
        State::Rejected,
        State::Approved,
        State::Published,
        State::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::Checking => "checking",
            State::ChecksFailed => "checks_failed",
            State::InReview => "in_review",
            State::ChangesRequested => "changes_requested",
            State::Rejected => "rejected",
            State::Approved => "approved",
            State::Published => "published",
            State::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.iter().copied().find(|s| s.as_str() == text)
    }

    /// The states `self` may be reached from.
    pub fn from_states(self) -> &'static [&'static str] {
        match self {
            State::Submitted => &[],
            State::Checking => &["submitted"],
            State::ChecksFailed | State::InReview => &["checking"],
            State::ChangesRequested | State::Rejected | State::Approved => &["in_review"],
            State::Published => &["approved"],
            State::Withdrawn => &[
                "submitted",
                "checking",
                "checks_failed",
                "in_review",
                "changes_requested",
                "approved",
            ],
        }
    }
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    RequestChanges,
    Reject,
}

impl Decision {
    pub fn parse(text: &str) -> Option<Decision> {
        match text {
            "approve" => Some(Decision::Approve),
            "request_changes" => Some(Decision::RequestChanges),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }

    pub fn state(self) -> State {
        match self {
            Decision::Approve => State::Approved,
            Decision::RequestChanges => State::ChangesRequested,
            Decision::Reject => State::Rejected,
        }
    }

    /// Sending a partner back, or away, says why.
    pub fn needs_comment(self) -> bool {
        self != Decision::Approve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_leaves_a_final_state_and_publication_needs_approval() {
        for state in State::ALL {
            assert_eq!(State::parse(state.as_str()), Some(*state));
            for target in State::ALL {
                let from = target.from_states();
                if matches!(state, State::Published | State::Rejected | State::Withdrawn) {
                    assert!(!from.contains(&state.as_str()), "{state:?} -> {target:?}");
                }
            }
        }
        assert_eq!(State::Published.from_states(), ["approved"]);
    }
}
