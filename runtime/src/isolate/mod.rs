//! One V8 isolate holding one loaded action version. It lives on one thread for its whole life (V8
//! isolates are `!Send` and must be dropped in reverse order of creation, so each isolate thread owns
//! exactly one) and runs that version's executions one at a time.

mod load;
mod report;

use crate::allocator::allocator;
use crate::errors::{action_error, from_core_error};
use crate::modules::{ActionModuleLoader, LoaderSource};
use crate::node;
use crate::ops::{actionflow, IsolateContext};
use crate::outcome::{ActionError, ApiCall, Outcome, Status};
use crate::redact::Redactor;
use crate::watchdog::{Slot, Termination, Watchdog, CPU_LIMIT, OUT_OF_MEMORY, TIMED_OUT};
use crate::{snapshot, RuntimeError};
use deno_core::error::CoreError;
use deno_core::{v8, JsRuntime, PollEventLoopOptions, RuntimeOptions};
use serde::Deserialize;
use std::collections::HashMap;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;
use tokio::time::error::Elapsed;
use tokio::time::timeout_at;

/// Takes the bootstrap's functions off the global object, with what else only deno_core needed there.
/// WebAssembly and SharedArrayBuffer go too: their memory is outside both the heap limit and the
/// ArrayBuffer allocator's budget.
const TAKE_BOOTSTRAP: &str =
    "(() => { const b = globalThis.__afBootstrap; delete globalThis.__afBootstrap; \
     b.installDeno(); delete globalThis.__bootstrap; delete globalThis.WebAssembly; \
     delete globalThis.SharedArrayBuffer; return b; })()";

/// A synthetic action of ours, run once in a spare isolate so V8 compiles the bootstrap's functions
/// (api builder, console formatting, event freezing) before a tenant's first execution needs them.
const WARM_UP_MODULE: &str = "({ onExecutePostLogin: async (event, api) => { \
     api.accessToken.setCustomClaim('https://example.com/roles', event.user.app_metadata.roles); \
     api.idToken.setCustomClaim('email', event.user.email); api.user.setAppMetadata('seen', true); \
     console.log('warm', event.user.email, { roles: event.user.app_metadata.roles }); } })";
const WARM_UP_EVENT: &str =
    r#"{"user":{"email":"warm@example.com","app_metadata":{"roles":["a"]}}}"#;

/// A handle scope in the isolate's main context, like `deno_core::scope!` but entering the context
/// through the isolate's own handle to it: `JsRuntime::main_context` clones a global handle (made and
/// released on every use), which two uses per execution would pay for.
macro_rules! context_scope {
    ($scope:ident, $iso:expr) => {
        let isolate = &mut *$iso.js.v8_isolate();
        deno_core::v8::scope!($scope, isolate);
        let context = deno_core::v8::Local::new($scope, &$iso.context);
        let $scope = &mut deno_core::v8::ContextScope::new($scope, context);
    };
}
pub(crate) use context_scope;

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
    /// The `fs` view of the Node layer, given the action's files when the isolate is assigned.
    fs: Rc<node::PackageFs>,
    /// The main context, kept so that entering it needs no new global handle.
    context: v8::Global<v8::Context>,
    loader: Rc<ActionModuleLoader>,
    /// Whether it holds an action (then it holds that one for the rest of its life).
    pub assigned: bool,
    start: v8::Global<v8::Function>,
    pending: v8::Global<v8::Function>,
    /// Per trigger id, the handler name and api methods as JS values, made on first use.
    per_trigger: HashMap<String, [v8::Global<v8::Value>; 2]>,
    set_common_js: v8::Global<v8::Function>,
    set_module: v8::Global<v8::Function>,
    termination: Arc<Termination>,
    /// Its place with the watchdog, armed with each execution's deadline.
    watch: Slot,
    /// The secret values of the last execution and their redactor, reused while they stay the same.
    redaction: (Vec<String>, Redactor),
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
    /// Creates an isolate from the startup snapshot, not yet holding any action: no tenant's code has
    /// run in it, so it may be made ahead of time (a spare) and given to whichever action needs one.
    pub fn blank(
        heap_bytes_max: usize,
        watchdog: &Watchdog,
    ) -> Result<ActionIsolate, RuntimeError> {
        let snapshot = snapshot::get().map_err(RuntimeError::Snapshot)?;
        let loader = Rc::new(ActionModuleLoader::default());
        let termination = Arc::new(Termination::default());
        let create_params = v8::CreateParams::default()
            .heap_limits(0, heap_bytes_max)
            .array_buffer_allocator(allocator(heap_bytes_max));
        let fs = Rc::new(node::PackageFs::empty());
        let mut extensions = node::extensions(fs.clone());
        extensions.push(actionflow::init());
        let mut js = JsRuntime::try_new(RuntimeOptions {
            startup_snapshot: Some(snapshot),
            extensions,
            create_params: Some(create_params),
            module_loader: Some(loader.clone()),
            ..Default::default()
        })
        .map_err(|e| RuntimeError::Isolate(e.to_string()))?;
        let handle = js.v8_isolate().thread_safe_handle();
        let (t, h) = (termination.clone(), handle.clone());
        // V8 aborts the process if the allocation that hit the limit still does not fit after this
        // returns. One object can be up to ~1 GiB (a string's maximum), so grant that much headroom
        // once, and stop the JS: the isolate is discarded right after.
        js.add_near_heap_limit_callback(move |current, _initial| {
            t.set(OUT_OF_MEMORY);
            h.terminate_execution();
            current.saturating_add(heap_bytes_max.max(1200 << 20))
        });
        let bootstrap = js
            .execute_script("ext:actionflow/take_bootstrap.js", TAKE_BOOTSTRAP)
            .map_err(|e| RuntimeError::Isolate(e.to_string()))?;
        let functions = {
            deno_core::scope!(scope, &mut js);
            let local = v8::Local::new(scope, bootstrap);
            local.to_object(scope).and_then(|obj| {
                Some((
                    [
                        function(scope, obj, "start")?,
                        function(scope, obj, "pending")?,
                    ],
                    function(scope, obj, "setCommonJs")?,
                    function(scope, obj, "setModule")?,
                ))
            })
        };
        let ([start, pending], set_common_js, set_module) = functions.ok_or_else(|| {
            RuntimeError::Isolate("the bootstrap did not provide its functions".into())
        })?;
        Ok(ActionIsolate {
            fs,
            context: js.main_context(),
            js,
            loader,
            assigned: false,
            start,
            pending,
            per_trigger: HashMap::new(),
            set_common_js,
            set_module,
            watch: watchdog.slot(handle, termination.clone()),
            termination,
            redaction: (Vec::new(), Redactor::new([])),
        })
    }

    /// Runs `WARM_UP_MODULE` once and forgets it: only our own code runs, so the isolate stays blank.
    pub async fn warm_up(&mut self) {
        let Ok(module) = self
            .js
            .execute_script("ext:actionflow/warm_up.js", WARM_UP_MODULE)
        else {
            return;
        };
        let call = self.js.call_with_args(&self.set_module, &[module]);
        let set = self
            .js
            .with_event_loop_promise(call, PollEventLoopOptions::default())
            .await;
        if let Some(trigger) = crate::trigger::find("post-login").filter(|_| set.is_ok()) {
            let input = RunInput {
                trigger_id: trigger.id,
                handler: trigger.handler,
                methods: trigger.api_methods,
                event_json: WARM_UP_EVENT,
                secrets_json: None,
                secret_values: &[],
                api_bytes_max: crate::Limits::default().api_bytes_max,
            };
            let started = Instant::now();
            let deadline = started + std::time::Duration::from_secs(2);
            self.begin(&input, &crate::Limits::default(), started, deadline);
            let _ = self.execute(&input, started, deadline).await;
        }
        let null: v8::Global<v8::Value> = {
            deno_core::scope!(scope, &mut self.js);
            let null: v8::Local<v8::Value> = v8::null(scope).into();
            v8::Global::new(scope, null)
        };
        let call = self.js.call_with_args(&self.set_module, &[null]);
        let _ = self
            .js
            .with_event_loop_promise(call, PollEventLoopOptions::default())
            .await;
    }

    /// Gives the isolate its action: the files `require`/`import` read, and the per-isolate ops state.
    /// The code itself runs in `load`.
    pub fn assign(&mut self, context: IsolateContext, code: &str) {
        self.loader.assign(LoaderSource {
            files: context.files.clone(),
            host_modules: context.host_modules.clone(),
            action_source: code.to_owned(),
        });
        self.fs.set_files(context.files.clone());
        let permissions = node::permissions(context.net.allow_private());
        let state = self.js.op_state();
        let mut state = state.borrow_mut();
        state.put(permissions);
        state.try_take::<crate::ops::Restricted>();
        state.put(context);
        self.assigned = true;
    }

    /// The execution starting now must end by `deadline` and use at most `cpu` of CPU time, or the
    /// watchdog stops the isolate.
    pub fn arm(&self, deadline: Instant, cpu: std::time::Duration) {
        self.watch.arm(deadline, cpu);
    }

    /// The execution ended: whether the isolate may serve another one — it was not stopped, and the
    /// watchdog did not take its deadline just now (a stop may then still be on its way).
    pub fn disarm(&self) -> bool {
        self.watch.disarm() && self.termination.get() == 0
    }

    /// Why the isolate was stopped, if it was.
    fn terminated(&self) -> Option<Status> {
        match self.termination.get() {
            TIMED_OUT => Some(Status::TimedOut),
            OUT_OF_MEMORY => Some(Status::OutOfMemory),
            CPU_LIMIT => Some(Status::CpuLimit),
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
            Status::CpuLimit => "the action used more CPU time than its limit",
            _ => "the action did not finish within its time limit",
        };
        Some((status, action_error("Error", message)))
    }

    /// The result of a step run under the deadline (`timeout_at` around the event loop): its value, or
    /// why it failed — terminated (timeout, memory), out of time while waiting, or a JS error that
    /// counts as `on_error` (`Threw` while running, `InvalidCode` while loading).
    fn settle<T>(
        &self,
        ran: Result<Result<T, CoreError>, Elapsed>,
        on_error: Status,
    ) -> Result<T, LoadFailure> {
        match ran {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.failure(&e, on_error)),
            Err(_) => Err(self.stopped(true).unwrap_or_else(|| {
                let message = "the action did not finish within its time limit";
                (Status::TimedOut, action_error("Error", message))
            })),
        }
    }

    /// Why a step that returned `e` failed: the isolate was stopped, or a JS error counting as `on_error`.
    fn failure(&self, e: &CoreError, on_error: Status) -> LoadFailure {
        self.stopped(false)
            .unwrap_or_else(|| (on_error, from_core_error(e)))
    }

    /// Runs the handler for one execution and drains the work it left pending, all within `deadline`.
    /// Returns the outcome and whether the isolate may serve another execution.
    ///
    /// The fast path: `start` the handler, turn the event loop once; when that leaves it idle, the
    /// handler has settled and nothing is pending, so the result it handed over is taken as it is —
    /// no promise watched, no timer armed. A handler still waiting (a fetch, a timer) goes the slow
    /// path below.
    pub async fn execute(
        &mut self,
        run: &RunInput<'_>,
        started: Instant,
        deadline: Instant,
    ) -> (Outcome, bool) {
        let mut outcome = Outcome::empty(Status::Completed);
        let turn = match self.start_handler(run) {
            Ok(()) => {
                poll_fn(|cx| {
                    Poll::Ready(self.js.poll_event_loop(cx, PollEventLoopOptions::default()))
                })
                .await
            }
            Err(e) => Poll::Ready(Err(e)),
        };
        let reusable = match turn {
            Poll::Ready(Ok(())) => match self.take_result() {
                Some(text) => {
                    Self::read_result(&text, run, &mut outcome);
                    true
                }
                None => {
                    let message = "the handler's promise never settled: it waits for nothing \
                                   that can still happen";
                    outcome.fail((Status::Threw, action_error("Error", message)));
                    false
                }
            },
            Poll::Ready(Err(e)) => {
                // Thrown by work the handler left pending (an unhandled rejection), or stopped.
                let failure = self.failure(&e, Status::Threw);
                if self.terminated().is_none() {
                    if let Some(text) = self.take_result() {
                        Self::read_result(&text, run, &mut outcome);
                    }
                }
                self.fail_pending(&mut outcome, failure);
                false
            }
            Poll::Pending => self.wait_for_handler(run, &mut outcome, deadline).await,
        };
        self.conclude(outcome, reusable, run, started)
    }

    /// The slow path: the handler waits for the event loop (a fetch, a timer). Wait for it, then let
    /// the work it started but did not await run to completion, all within the deadline.
    async fn wait_for_handler(
        &mut self,
        run: &RunInput<'_>,
        outcome: &mut Outcome,
        deadline: Instant,
    ) -> bool {
        // The handler may have settled already, leaving work pending (an unawaited timer): then its
        // result was handed over and only that work is left to wait for.
        let text = match self.take_result() {
            Some(text) => text,
            None => {
                let call = self.js.call_with_args(&self.pending, &[]);
                let ran = timeout_at(
                    deadline.into(),
                    self.js
                        .with_event_loop_promise(call, PollEventLoopOptions::default()),
                )
                .await;
                match self.settle(ran, Status::Threw) {
                    Ok(value) => self.result_text(value),
                    Err(failure) => {
                        outcome.fail(failure);
                        return false;
                    }
                }
            }
        };
        Self::read_result(&text, run, outcome);
        if outcome.status == Status::InvalidCode {
            // No handler to run, but work the module's top-level code left pending (a timer): not
            // waited for, and the isolate goes with it, so that it cannot log into a later execution.
            return false;
        }
        let drained = timeout_at(
            deadline.into(),
            self.js.run_event_loop(PollEventLoopOptions::default()),
        )
        .await;
        match self.settle(drained, Status::Threw) {
            Ok(()) => true,
            Err(failure) => {
                self.fail_pending(outcome, failure);
                false
            }
        }
    }

    /// What a failure of work the handler left running does to an execution. A limit reached there
    /// (time, CPU, memory) or a stop ends the execution as usual. An error thrown there after the
    /// handler completed does not undo the handler's answer: it is logged as an error line and the
    /// execution stays completed. The answer was given; failing it now would fail a login that the
    /// action allowed, or retry an async action whose side effects already happened (Auth0's SES
    /// tutorial sends its email, then node-ses throws because the tutorial passes no callback: a
    /// retry would send the email again). An error after the handler itself threw adds nothing.
    fn fail_pending(&mut self, outcome: &mut Outcome, failure: LoadFailure) {
        if failure.0 != Status::Threw {
            outcome.fail(failure);
        } else if outcome.status == Status::Completed {
            let (_, error) = failure;
            let what = error
                .stack
                .unwrap_or_else(|| format!("{}: {}", error.name, error.message));
            let message = format!(
                "uncaught in work the handler left running (the execution stays completed): {what}"
            );
            if let Some(ctx) = self
                .js
                .op_state()
                .borrow_mut()
                .try_borrow_mut::<crate::ops::ExecutionContext>()
            {
                ctx.push_log(crate::outcome::LogLevel::Error, &message);
            }
        }
    }

    /// The last checks of every execution: a stop that came late, array buffers exhausted.
    fn conclude(
        &mut self,
        mut outcome: Outcome,
        mut reusable: bool,
        run: &RunInput<'_>,
        started: Instant,
    ) -> (Outcome, bool) {
        if let Some(failure) = self.stopped(false) {
            outcome.fail(failure);
            reusable = false;
        }
        // Array buffers past the allocator's budget surface as this RangeError when not caught.
        let buffers_exhausted = outcome.error.as_ref().is_some_and(|e| {
            e.name == "RangeError" && e.message.starts_with("Array buffer allocation failed")
        });
        if outcome.status == Status::Threw && buffers_exhausted {
            outcome.status = Status::OutOfMemory;
            reusable = false;
        }
        self.finish(&mut outcome, run, started);
        (outcome, reusable)
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
    /// The secrets as a JSON object; `None` for none.
    pub secrets_json: Option<&'a str>,
    pub secret_values: &'a [String],
    /// `Limits::api_bytes_max`.
    pub api_bytes_max: usize,
}
