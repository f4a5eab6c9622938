//! The webhook the async tests' actions call (shared with the binary's end-to-end tests, see
//! `actionflow_triggers::test_support`), and the action that calls it.

pub use actionflow_triggers::test_support::Hook;

/// A post-user-registration action that calls the hook and throws when it is not 2xx; with
/// `fail_before`, it also throws on attempts below that number (before calling).
pub fn action_code(fail_before: u32) -> String {
    format!(
        "exports.onExecutePostUserRegistration = async (event) => {{
            const {{ id, attempt }} = event.execution;
            console.log('attempt ' + attempt);
            if (attempt < {fail_before}) throw new Error('flaky on attempt ' + attempt);
            const r = await fetch(event.hook + '?id=' + id + '&attempt=' + attempt, {{ method: 'POST' }});
            if (!r.ok) throw new Error('hook answered ' + r.status);
        }};"
    )
}
