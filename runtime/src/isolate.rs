//! One V8 isolate holding one loaded action version. It lives on one thread for its whole life (V8
//! isolates are `!Send` and must be dropped in reverse order of creation, so each isolate thread owns
//! exactly one) and runs that version's executions one at a time.

use crate::allocator::allocator;
use crate::errors::{action_error, from_js_error, looks_like_esm};
use crate::modules::{ActionModuleLoader, ModuleFiles, ACTION_URL};
use crate::ops::{actionflow, ExecutionContext, IsolateContext};
use crate::outcome::{ActionError, ApiCall, Outcome, Status};
use crate::redact::Redactor;
use crate::watchdog::{Termination, OUT_OF_MEMORY, TIMED_OUT};
use crate::{snapshot, Limits, RuntimeError};
use deno_core::{v8, JsRuntime, ModuleSpecifier, PollEventLoopOptions, RuntimeOptions};
use serde::Deserialize;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;
use tokio::time::timeout_at;

/// Takes the bootstrap's functions off the global object, with what else only deno_core needed there.
const TAKE_BOOTSTRAP: &str =
    "(() => { const b = globalThis.__afBootstrap; delete globalThis.__afBootstrap; \
     delete globalThis.Deno; delete globalThis.__bootstrap; return b; })()";

/// How loading an action failed, as the outcome its first execution reports.
pub(crate) type LoadFailure = (Status, ActionError);

/// What the bootstrap's `run` returns (as JSON): the calls, or the error it caught, or `missing` when
/// the module has no handler for the trigger (the export names found are listed).
#[derive(Deserialize)]
struct RunResult {
    #[serde(default)]
    missing: Option<Vec<String>>,
    #[serde(default)]
    calls: Vec<ApiCall>,
    #[serde(default)]
    error: Option<ActionError>,
}

pub(crate) struct ActionIsolate {
    js: JsRuntime,
    run: v8::Global<v8::Function>,
    set_common_js: v8::Global<v8::Function>,
    set_module: v8::Global<v8::Function>,
    pub handle: v8::IsolateHandle,
    pub termination: Arc<Termination>,
}

fn function(
    scope: &mut v8::PinScope,
    obj: v8::Local<v8::Object>,
    name: &str,
) -> Option<v8::Global<v8::Function>> {
    let key = v8::String::new(scope, name)?;
    let value = obj.get(scope, key.into())?;
    let f = v8::Local::<v8::Function>::try_from(value).ok()?;
    Some(v8::Global::new(scope, f))
}

impl ActionIsolate {
    /// Creates the isolate from the startup snapshot. Runs none of the action's code.
    pub fn new(
        heap_bytes_max: usize,
        context: IsolateContext,
        code: &str,
    ) -> Result<ActionIsolate, RuntimeError> {
        let snapshot = snapshot::get().map_err(RuntimeError::Snapshot)?;
        let files: Arc<dyn ModuleFiles> = context.files.clone();
        let host_modules = context.host_modules.clone();
        let termination = Arc::new(Termination::default());
        let create_params = v8::CreateParams::default()
            .heap_limits(0, heap_bytes_max)
            .array_buffer_allocator(allocator(heap_bytes_max, termination.clone()));
        let mut js = JsRuntime::try_new(RuntimeOptions {
            startup_snapshot: Some(snapshot),
            extensions: vec![actionflow::init()],
            create_params: Some(create_params),
            module_loader: Some(Rc::new(ActionModuleLoader::new(
                files,
                host_modules,
                code.to_owned(),
            ))),
            ..Default::default()
        })
        .map_err(|e| RuntimeError::Isolate(e.to_string()))?;
        let handle = js.v8_isolate().thread_safe_handle();
        let (t, h) = (termination.clone(), handle.clone());
        // V8 aborts the process if this returns the same limit: give headroom to unwind, and stop the JS.
        js.add_near_heap_limit_callback(move |current, _initial| {
            t.set(OUT_OF_MEMORY);
            h.terminate_execution();
            current.saturating_mul(2)
        });
        js.op_state().borrow_mut().put(context);
        let bootstrap = js
            .execute_script("ext:actionflow/take_bootstrap.js", TAKE_BOOTSTRAP)
            .map_err(|e| RuntimeError::Isolate(e.to_string()))?;
        let functions = {
            deno_core::scope!(scope, &mut js);
            let local = v8::Local::new(scope, bootstrap);
            local.to_object(scope).and_then(|obj| {
                Some((
                    function(scope, obj, "run")?,
                    function(scope, obj, "setCommonJs")?,
                    function(scope, obj, "setModule")?,
                ))
            })
        };
        let (run, set_common_js, set_module) = functions.ok_or_else(|| {
            RuntimeError::Isolate("the bootstrap did not provide its functions".into())
        })?;
        Ok(ActionIsolate {
            js,
            run,
            set_common_js,
            set_module,
            handle,
            termination,
        })
    }

    /// Why the isolate was stopped, if it was.
    fn terminated(&self) -> Option<Status> {
        match self.termination.get() {
            TIMED_OUT => Some(Status::TimedOut),
            OUT_OF_MEMORY => Some(Status::OutOfMemory),
            _ => None,
        }
    }

    fn stopped(&self, deadline_passed: bool) -> Option<LoadFailure> {
        let status = self
            .terminated()
            .or(deadline_passed.then_some(Status::TimedOut))?;
        let message = match status {
            Status::OutOfMemory => {
                "the action ran out of memory (its heap or array buffers passed the limit)"
            }
            _ => "the action did not finish within its time limit",
        };
        Some((status, action_error("Error", message)))
    }

    /// Loads the action: CommonJS first; a syntax error that only ES modules allow retries it as an ES module.
    pub async fn load(&mut self, code: &str, deadline: Instant) -> Result<(), LoadFailure> {
        let wrapped =
            format!("(function (exports, require, module, __filename, __dirname) {{ {code}\n}})");
        match self.js.execute_script(ACTION_URL, wrapped) {
            Ok(function) => {
                let call = self.js.call_with_args(&self.set_common_js, &[function]);
                let ran = timeout_at(
                    deadline.into(),
                    self.js
                        .with_event_loop_promise(call, PollEventLoopOptions::default()),
                )
                .await;
                match ran {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(self
                        .stopped(false)
                        .unwrap_or((Status::InvalidCode, crate::errors::from_core_error(&e)))),
                    Err(_) => Err(self
                        .stopped(true)
                        .unwrap_or((Status::TimedOut, action_error("Error", "timed out")))),
                }
            }
            Err(e) if looks_like_esm(&e) => self.load_esm(code, deadline).await,
            Err(e) => Err(self
                .stopped(false)
                .unwrap_or((Status::InvalidCode, from_js_error(&e)))),
        }
    }

    async fn load_esm(&mut self, code: &str, deadline: Instant) -> Result<(), LoadFailure> {
        let invalid = |e: &dyn std::fmt::Display| {
            (
                Status::InvalidCode,
                action_error("SyntaxError", &e.to_string()),
            )
        };
        let specifier = ModuleSpecifier::parse(ACTION_URL).map_err(|e| invalid(&e))?;
        let id = match self
            .js
            .load_main_es_module_from_code(&specifier, code.to_owned())
            .await
        {
            Ok(id) => id,
            Err(e) => return Err((Status::InvalidCode, crate::errors::from_core_error(&e))),
        };
        let evaluation = self.js.mod_evaluate(id);
        let ran = timeout_at(
            deadline.into(),
            self.js
                .with_event_loop_future(evaluation, PollEventLoopOptions::default()),
        )
        .await;
        match ran {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(self
                    .stopped(false)
                    .unwrap_or((Status::InvalidCode, crate::errors::from_core_error(&e))))
            }
            Err(_) => {
                return Err(self
                    .stopped(true)
                    .unwrap_or((Status::TimedOut, action_error("Error", "timed out"))))
            }
        }
        let namespace = self.js.get_module_namespace(id).map_err(|e| invalid(&e))?;
        let namespace: v8::Global<v8::Value> = {
            deno_core::scope!(scope, &mut self.js);
            let local: v8::Local<v8::Value> = v8::Local::new(scope, namespace).into();
            v8::Global::new(scope, local)
        };
        let call = self.js.call_with_args(&self.set_module, &[namespace]);
        self.js
            .with_event_loop_promise(call, PollEventLoopOptions::default())
            .await
            .map(|_| ())
            .map_err(|e| (Status::InvalidCode, crate::errors::from_core_error(&e)))
    }

    /// Runs the handler for one execution and drains the work it left pending, all within `deadline`.
    /// Returns the outcome and whether the isolate may serve another execution.
    pub async fn execute(
        &mut self,
        run: &RunInput<'_>,
        started: Instant,
        deadline: Instant,
    ) -> (Outcome, bool) {
        let args = self.run_args(run);
        let mut outcome = Outcome::empty(Status::Completed);
        let call = self.js.call_with_args(&self.run, &args);
        let ran = timeout_at(
            deadline.into(),
            self.js
                .with_event_loop_promise(call, PollEventLoopOptions::default()),
        )
        .await;
        let mut reusable = true;
        match ran {
            Ok(Ok(value)) => self.read_result(value, run, &mut outcome),
            Ok(Err(e)) => {
                (outcome.status, outcome.error) =
                    (Status::Threw, Some(crate::errors::from_core_error(&e)));
                reusable = false;
            }
            Err(_) => {
                (outcome.status, outcome.error) = (
                    Status::TimedOut,
                    Some(action_error(
                        "Error",
                        "the action did not finish within its time limit",
                    )),
                );
                reusable = false;
            }
        }
        if reusable && outcome.status != Status::InvalidCode {
            // Work the handler started but did not await (a fetch, a timer) still runs to completion.
            match timeout_at(
                deadline.into(),
                self.js.run_event_loop(PollEventLoopOptions::default()),
            )
            .await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    if outcome.status == Status::Completed {
                        (outcome.status, outcome.error) =
                            (Status::Threw, Some(crate::errors::from_core_error(&e)));
                    }
                    reusable = false;
                }
                Err(_) => {
                    (outcome.status, outcome.error) = (
                        Status::TimedOut,
                        Some(action_error(
                            "Error",
                            "work the action left pending did not finish within its time limit",
                        )),
                    );
                    reusable = false;
                }
            }
        }
        if let Some((status, error)) = self.stopped(false) {
            (outcome.status, outcome.error) = (status, Some(error));
            reusable = false;
        }
        self.finish(&mut outcome, run, started);
        (outcome, reusable)
    }

    /// Starts collecting one execution's logs; called before `load` on the cold path so that console
    /// output of the module's top-level code belongs to the first execution.
    pub fn begin(&mut self, limits: &Limits, started: Instant, deadline: Instant) {
        self.js.op_state().borrow_mut().put(ExecutionContext::new(
            limits.clone(),
            started,
            deadline,
        ));
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

    fn run_args(&mut self, run: &RunInput<'_>) -> Vec<v8::Global<v8::Value>> {
        deno_core::scope!(scope, &mut self.js);
        let mut out = Vec::with_capacity(3);
        let handler: v8::Local<v8::Value> = match v8::String::new(scope, run.handler) {
            Some(s) => s.into(),
            None => v8::undefined(scope).into(),
        };
        out.push(v8::Global::new(scope, handler));
        let methods: Vec<v8::Local<v8::Value>> = run
            .methods
            .iter()
            .filter_map(|m| v8::String::new(scope, m).map(Into::into))
            .collect();
        let methods: v8::Local<v8::Value> = v8::Array::new_with_elements(scope, &methods).into();
        out.push(v8::Global::new(scope, methods));
        let event: v8::Local<v8::Value> = match v8::String::new(scope, run.event_json) {
            Some(s) => s.into(),
            None => v8::undefined(scope).into(),
        };
        out.push(v8::Global::new(scope, event));
        out
    }

    fn read_result(
        &mut self,
        value: v8::Global<v8::Value>,
        run: &RunInput<'_>,
        outcome: &mut Outcome,
    ) {
        let text = {
            deno_core::scope!(scope, &mut self.js);
            let local = v8::Local::new(scope, value);
            local.to_rust_string_lossy(scope)
        };
        match serde_json::from_str::<RunResult>(&text) {
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

    fn finish(&mut self, outcome: &mut Outcome, run: &RunInput<'_>, started: Instant) {
        if let Some(ctx) = self
            .js
            .op_state()
            .borrow_mut()
            .try_take::<ExecutionContext>()
        {
            outcome.logs = ctx.logs;
            outcome.logs_dropped = ctx.logs_dropped;
        }
        let redactor = Redactor::new(run.secret_values.iter().map(String::as_str));
        for line in &mut outcome.logs {
            redactor.redact_in_place(&mut line.message);
        }
        if let Some(error) = &mut outcome.error {
            redactor.redact_in_place(&mut error.name);
            redactor.redact_in_place(&mut error.message);
            if let Some(stack) = &mut error.stack {
                redactor.redact_in_place(stack);
            }
        }
        outcome.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    }

    /// Heap in use (V8 heap plus external memory), for the pool's memory bound.
    pub fn heap_bytes(&mut self) -> usize {
        let stats = self.js.v8_isolate().get_heap_statistics();
        stats.used_heap_size() + stats.external_memory()
    }
}

/// What one execution needs from the caller.
pub(crate) struct RunInput<'a> {
    pub trigger_id: &'a str,
    pub handler: &'a str,
    pub methods: &'a [&'static str],
    pub event_json: &'a str,
    pub secret_values: &'a [String],
}
