//! Turning what an execution left behind into its `Outcome`: the handler's result, the logs collected
//! by the ops, redaction of secret values, the duration.

use super::{ActionIsolate, LoadFailure, RunInput, RunResult};
use crate::errors::action_error;
use crate::ops::ExecutionContext;
use crate::outcome::{ApiCall, Outcome, Status};
use crate::redact::Redactor;
use crate::Limits;
use deno_core::error::{CoreError, JsError};
use deno_core::v8;
use std::time::Instant;

impl ActionIsolate {
    /// Starts collecting one execution's logs; called before `load` on the cold path so that console
    /// output of the module's top-level code belongs to the first execution.
    pub fn begin(
        &mut self,
        run: &RunInput<'_>,
        limits: &Limits,
        started: Instant,
        deadline: Instant,
    ) {
        let redactor = self.redactor_for(run.secret_values);
        self.js.op_state().borrow_mut().put(ExecutionContext::new(
            limits.clone(),
            started,
            deadline,
            redactor,
        ));
    }

    /// The redactor of these secret values: the one made for the previous execution when its values
    /// were the same (an action's secrets rarely change between executions; building the matcher
    /// costs more than a trivial execution).
    fn redactor_for(&mut self, values: &[String]) -> Redactor {
        if self.redaction.0 != values {
            self.redaction = (
                values.to_vec(),
                Redactor::new(values.iter().map(String::as_str)),
            );
        }
        self.redaction.1.clone()
    }

    /// The outcome of a check that loaded the action without running it.
    pub fn loaded(&mut self, run: &RunInput<'_>, started: Instant) -> Outcome {
        let mut outcome = Outcome::empty(Status::Completed);
        self.finish(&mut outcome, run, started);
        outcome
    }

    /// The outcome of an execution whose action could not be loaded.
    pub fn failed_load(
        &mut self,
        (status, error): LoadFailure,
        run: &RunInput<'_>,
        started: Instant,
    ) -> Outcome {
        let mut outcome = Outcome::empty(status);
        outcome.error = Some(error);
        self.finish(&mut outcome, run, started);
        outcome
    }

    /// Calls the bootstrap's `start` with the handler name, api methods, event and secrets JSON, in one
    /// scope (no handles made per execution beyond the call's own). The first two are made once per
    /// trigger and kept, so that the bootstrap can also keep what it derives from them. `Err` when the call
    /// threw or the isolate was stopped during it (an endless loop before the handler's first await).
    pub(super) fn start_handler(&mut self, run: &RunInput<'_>) -> Result<(), CoreError> {
        super::context_scope!(scope, self);
        let (handler, methods) = match self.per_trigger.get(run.trigger_id) {
            Some([handler, methods]) => (
                v8::Local::new(scope, handler),
                v8::Local::new(scope, methods),
            ),
            None => {
                let handler: v8::Local<v8::Value> = match v8::String::new(scope, run.handler) {
                    Some(s) => s.into(),
                    None => v8::undefined(scope).into(),
                };
                let methods: Vec<v8::Local<v8::Value>> = run
                    .methods
                    .iter()
                    .filter_map(|m| v8::String::new(scope, m).map(Into::into))
                    .collect();
                let methods: v8::Local<v8::Value> =
                    v8::Array::new_with_elements(scope, &methods).into();
                let kept = [
                    v8::Global::new(scope, handler),
                    v8::Global::new(scope, methods),
                ];
                self.per_trigger.insert(run.trigger_id.to_owned(), kept);
                (handler, methods)
            }
        };
        let event: v8::Local<v8::Value> = match v8::String::new(scope, run.event_json) {
            Some(s) => s.into(),
            None => v8::undefined(scope).into(),
        };
        let secrets: v8::Local<v8::Value> = match run.secrets_json {
            Some(json) => match v8::String::new(scope, json) {
                Some(s) => s.into(),
                None => v8::undefined(scope).into(),
            },
            None => v8::null(scope).into(),
        };
        let api_bytes_max = v8::Number::new(scope, run.api_bytes_max as f64).into();
        let start = v8::Local::new(scope, &self.start);
        v8::tc_scope!(let scope, scope);
        let this = v8::undefined(scope).into();
        if start
            .call(
                scope,
                this,
                &[handler, methods, event, secrets, api_bytes_max],
            )
            .is_some()
        {
            return Ok(());
        }
        // A stopped isolate leaves no exception: `failure` then reports why it was stopped.
        let exception = scope
            .exception()
            .unwrap_or_else(|| v8::undefined(scope).into());
        Err(CoreError::from(JsError::from_v8_exception(
            scope, exception,
        )))
    }

    /// The settled handler's result (its JSON text), if it has settled: handed over by the bootstrap
    /// through `op_af_settled`, no call into the isolate needed.
    pub(super) fn take_result(&mut self) -> Option<String> {
        let state = self.js.op_state();
        let mut state = state.borrow_mut();
        state.try_borrow_mut::<ExecutionContext>()?.result.take()
    }

    /// The text of a result that came back as a promise's value (the slow path).
    pub(super) fn result_text(&mut self, value: v8::Global<v8::Value>) -> String {
        super::context_scope!(scope, self);
        let local = v8::Local::new(scope, value);
        local.to_rust_string_lossy(scope)
    }

    pub(super) fn read_result(text: &str, run: &RunInput<'_>, outcome: &mut Outcome) {
        match serde_json::from_str::<RunResult>(text) {
            Ok(RunResult {
                missing: Some(found),
                ..
            }) => {
                let found = if found.is_empty() {
                    "none".to_owned()
                } else {
                    found.join(", ")
                };
                let message = format!(
                    "the action does not export a handler named `{}` for trigger {} (exports found: {found})",
                    run.handler, run.trigger_id
                );
                (outcome.status, outcome.error) = (
                    Status::InvalidCode,
                    Some(action_error("TypeError", &message)),
                );
            }
            Ok(result) if !result.calls.iter().all(|c| well_formed(c, run.methods)) => {
                // Only an action that replaced built-ins (a `toJSON` on Object.prototype, a patched
                // Array.prototype.push) can get here: its calls cannot be trusted.
                let message = "the action's api calls were tampered with (a built-in was replaced)";
                (outcome.status, outcome.error) =
                    (Status::Threw, Some(action_error("Error", message)));
            }
            Ok(result) => {
                outcome.api_calls = result.calls;
                if let Some(error) = result.error {
                    (outcome.status, outcome.error) =
                        (Status::Threw, Some(crate::errors::tidy(error)));
                }
            }
            Err(e) => {
                let message = format!("the action's result could not be read: {e}");
                (outcome.status, outcome.error) =
                    (Status::Threw, Some(action_error("Error", &message)));
            }
        }
    }

    pub(super) fn finish(&mut self, outcome: &mut Outcome, run: &RunInput<'_>, started: Instant) {
        let context = self
            .js
            .op_state()
            .borrow_mut()
            .try_take::<ExecutionContext>();
        let redactor = match context {
            Some(ctx) => {
                outcome.logs = ctx.logs;
                outcome.logs_dropped = ctx.logs_dropped;
                ctx.redactor
            }
            None => self.redactor_for(run.secret_values),
        };
        if let Some(error) = &mut outcome.error {
            // Redacted whole, then cut (errors from loading come from V8, not the bootstrap's cut).
            for text in [&mut error.name, &mut error.message]
                .into_iter()
                .chain(error.stack.as_mut())
            {
                redactor.redact_in_place(text);
                cut(text);
            }
        }
        outcome.strip_nul();
        outcome.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    }
}

/// What an outcome keeps of an error's name, message or stack (as the bootstrap's `describe` does).
const ERROR_TEXT_BYTES_MAX: usize = 16 * 1024;

fn cut(text: &mut String) {
    if text.len() > ERROR_TEXT_BYTES_MAX {
        let mut at = ERROR_TEXT_BYTES_MAX;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
        text.push('…');
    }
}

/// What the bootstrap's argument checks guarantee, checked again on this side of the boundary: the
/// trigger has the method, and its first argument (a name, reason, provider, url or code) is a string.
fn well_formed(call: &ApiCall, methods: &[&'static str]) -> bool {
    methods.contains(&call.method.as_str())
        && !call.method.starts_with("cache.")
        && (1..=2).contains(&call.args.len())
        && call.args[0].is_string()
}
