//! The webhook the actions of these tests call (`actionflow_triggers::test_support`, shared with the
//! triggers crate's tests), and the action that calls it.

pub use actionflow_triggers::test_support::Hook;

/// A post-user-registration action calling the hook after `delay_ms`, throwing unless it is 2xx.
pub fn action_code(delay_ms: u64) -> String {
    format!(
        "exports.onExecutePostUserRegistration = async (event) => {{
            const {{ id, attempt }} = event.execution;
            if ({delay_ms} > 0) await new Promise((resolve) => setTimeout(resolve, {delay_ms}));
            console.log('attempt ' + attempt + ' of ' + id);
            const r = await fetch(event.hook + '?id=' + id + '&attempt=' + attempt, {{ method: 'POST' }});
            if (!r.ok) throw new Error('hook answered ' + r.status);
        }};"
    )
}
