//! The flow runner: the bound actions of one dispatch, in order, under one wall-clock budget. Each
//! action sees the event with the metadata changes of the ones before; `api` calls accumulate;
//! `access.deny` stops the chain; a failing action fails the flow closed unless its binding says
//! `on_error: "continue"` (a failed action's own calls are discarded either way).

pub use actionflow_runtime::effects;
mod report;

use std::sync::Arc;
use std::time::Instant;

use actionflow_runtime::{Event, Outcome, Status, Trigger};
use actionflow_store::{ActionVersion, OnError};
use serde::{Deserialize, Serialize};

use crate::executor::{ActionCall, Executor};
use crate::logs::{LiveLog, LogHub};

pub use report::{ActionResult, FlowError, FlowReport, FlowStatus, ResultStatus};

/// Default of `flow_ms_max`: the whole flow's wall-clock budget.
pub const FLOW_MS_MAX: u64 = 20_000;

/// One binding of a flow as pinned at dispatch: which version runs, and what a failure does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub action_id: String,
    pub display_name: String,
    /// The deployed version at dispatch; `None` when the action had none (the step fails).
    pub version: Option<i64>,
    pub on_error: OnError,
}

/// A planned step with its version loaded (`None`: nothing runnable; the step fails).
#[derive(Debug, Clone)]
pub struct Step {
    pub planned: PlannedStep,
    pub version: Option<Arc<ActionVersion>>,
}

/// One run of a flow.
#[derive(Debug, Clone)]
pub struct FlowInput {
    pub tenant_id: String,
    pub trigger: &'static Trigger,
    /// The validated event (with `execution` for async attempts).
    pub event: serde_json::Value,
    pub budget_ms: u64,
    /// The async execution this run is an attempt of.
    pub execution_id: Option<String>,
}

/// Runs the steps in order and reports the combined effects and each action's result. Runnable
/// steps in a row go to the executor as one chain (one hand-off to the engine); a chain ends early
/// on a failure, a deny or a spent budget, and the flow goes on from there as its rules say.
pub async fn run(
    executor: &dyn Executor,
    logs: &LogHub,
    input: FlowInput,
    steps: &[Step],
) -> FlowReport {
    let started = Instant::now();
    let mut event = input.event.clone();
    let mut report = FlowReport::new();
    let mut next = 0;
    while next < steps.len() {
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let remaining_ms = input.budget_ms.saturating_sub(elapsed_ms);
        if remaining_ms == 0 {
            let message = format!(
                "the flow's budget of {} ms ran out before action `{}`",
                input.budget_ms, steps[next].planned.display_name
            );
            report.fail(Some(&steps[next].planned.action_id), message, true);
            break;
        }
        let chain: Vec<&Step> = steps[next..]
            .iter()
            .take_while(|step| runnable(input.trigger, step).is_some())
            .collect();
        if chain.is_empty() {
            let step = &steps[next];
            let result = ActionResult::not_runnable(step, input.trigger.id, chrono::Utc::now());
            publish(logs, &input, step, &result);
            next += 1;
            if settle(&mut report, &mut event, step, result) == Settled::Stop {
                break;
            }
            continue;
        }
        let text = match Event::new(&event) {
            Ok(text) => text,
            Err(e) => {
                report.fail(Some(&chain[0].planned.action_id), e.to_string(), false);
                break;
            }
        };
        let results = run_chain(executor, &input, &chain, text, remaining_ms).await;
        let ran = results.len();
        let mut stopped = false;
        for (step, result) in chain.iter().zip(results) {
            publish(logs, &input, step, &result);
            if settle(&mut report, &mut event, step, result) == Settled::Stop {
                stopped = true;
                break;
            }
        }
        if stopped {
            break;
        }
        next += ran.max(1);
    }
    report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    report
}

#[derive(PartialEq, Eq)]
enum Settled {
    Continue,
    Stop,
}

/// Adds one action's result to the report: its effects (and the event's metadata) when it
/// completed; a failure stops the flow unless its binding says `on_error: "continue"`.
fn settle(
    report: &mut FlowReport,
    event: &mut serde_json::Value,
    step: &Step,
    result: ActionResult,
) -> Settled {
    if result.status == ResultStatus::Completed {
        for call in &result.api_calls {
            effects::apply(event, call);
        }
        report.effects.extend(result.api_calls.iter().cloned());
        let denied = result.api_calls.iter().any(|c| c.method == effects::DENY);
        report.results.push(result);
        if denied {
            report.status = FlowStatus::Denied;
            return Settled::Stop;
        }
        return Settled::Continue;
    }
    let (message, retryable) = (result.failure_message(), result.status.is_retryable());
    // A deny is a security decision: an action that denied and then failed still denies, even
    // under `on_error: "continue"` (its other calls are dropped with its failure).
    let deny = result
        .api_calls
        .iter()
        .find(|c| c.method == effects::DENY)
        .cloned();
    report.results.push(result);
    if let Some(deny) = deny {
        report.effects.push(deny);
        report.status = FlowStatus::Denied;
        return Settled::Stop;
    }
    if step.planned.on_error == OnError::Continue {
        report.status = FlowStatus::Partial;
        return Settled::Continue;
    }
    report.fail(Some(&step.planned.action_id), message, retryable);
    Settled::Stop
}

/// Runs runnable steps in a row as one chain; one result per step that ran (at least one).
async fn run_chain(
    executor: &dyn Executor,
    input: &FlowInput,
    chain: &[&Step],
    event: Event,
    remaining_ms: u64,
) -> Vec<ActionResult> {
    let calls = chain
        .iter()
        .filter_map(|step| runnable(input.trigger, step))
        .map(|version| ActionCall {
            tenant_id: input.tenant_id.clone(),
            trigger_id: input.trigger.id,
            version: Arc::clone(version),
            event: event.clone(),
            wall_ms_max: remaining_ms,
        })
        .collect();
    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    // The engine bounds each execution itself; this bounds everything before it too (the wait for
    // a free isolate, packages, secrets), so the flow's budget covers the whole flow. A little grace
    // lets the engine report its own timeout, with the action's logs, when it is the one that ran out.
    let budget = std::time::Duration::from_millis(remaining_ms.saturating_add(250));
    let executed = tokio::time::timeout(budget, executor.execute_chain(calls, remaining_ms)).await;
    let duration_ms = clock.elapsed().as_secs_f64() * 1000.0;
    let number = |step: &Step| step.version.as_ref().map_or(0, |v| v.number);
    // Timed out, or nothing ran before the budget was spent: the first step ran out of it.
    let outcomes = executed.unwrap_or_default();
    if outcomes.is_empty() {
        let first = chain[0];
        return vec![ActionResult::out_of_budget(
            first,
            number(first),
            started_at,
            duration_ms,
        )];
    }
    let mut at = started_at;
    let mut results = Vec::with_capacity(outcomes.len());
    for (step, outcome) in chain.iter().zip(outcomes) {
        let result = match outcome {
            Ok(outcome) => ActionResult::of_outcome(step, number(step), at, outcome),
            Err(error) => {
                tracing::warn!(%error, action_id = %step.planned.action_id, "engine failure");
                ActionResult::engine_error(step, number(step), at, duration_ms, &error)
            }
        };
        at = result.ended_at;
        results.push(result);
    }
    results
}

/// The step's version when it exists and supports the trigger.
fn runnable<'a>(trigger: &Trigger, step: &'a Step) -> Option<&'a Arc<ActionVersion>> {
    step.version
        .as_ref()
        .filter(|v| v.supported_triggers.iter().any(|t| t == trigger.id))
}

/// A live line keeps at most 8 KiB: the broadcast buffer holds thousands of lines for slow
/// followers, and the full line stays in the execution's record.
fn live_text(message: &str) -> String {
    const LIVE_LINE_BYTES_MAX: usize = 8 * 1024;
    if message.len() <= LIVE_LINE_BYTES_MAX {
        return message.to_owned();
    }
    let mut cut = LIVE_LINE_BYTES_MAX;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &message[..cut])
}

fn publish(logs: &LogHub, input: &FlowInput, step: &Step, result: &ActionResult) {
    if !logs.is_followed() {
        return;
    }
    for line in &result.logs {
        let offset = chrono::TimeDelta::milliseconds(i64::try_from(line.at_ms).unwrap_or(0));
        logs.publish(LiveLog {
            tenant_id: input.tenant_id.clone(),
            action_id: step.planned.action_id.clone(),
            version: result.version.unwrap_or(0),
            trigger_id: input.trigger.id.to_owned(),
            execution_id: input.execution_id.clone(),
            level: line.level,
            message: live_text(&line.message),
            at: result.started_at + offset,
        });
    }
}

/// Whether a runtime outcome is a success for the flow.
pub(crate) fn status_of(outcome: &Outcome) -> ResultStatus {
    match outcome.status {
        Status::Completed => ResultStatus::Completed,
        Status::Threw => ResultStatus::Threw,
        Status::TimedOut => ResultStatus::TimedOut,
        Status::CpuLimit => ResultStatus::CpuLimit,
        Status::OutOfMemory => ResultStatus::OutOfMemory,
        Status::InvalidCode => ResultStatus::InvalidCode,
        Status::Crashed => ResultStatus::Crashed,
    }
}
