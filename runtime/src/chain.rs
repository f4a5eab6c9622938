//! A flow's actions run back to back ([`Chain`]): each step sees the event with the metadata changes
//! of the steps before it ([`effects`](crate::effects)), within one wall-clock budget, and the chain
//! stops after the first step that does not complete, that denies access, or that finds the budget
//! spent. One walk ([`Walk`]) holds that logic for both ways of running it: awaiting each step
//! ([`run_chain`]) or continuing from each step's outcome on the isolate thread that ran it
//! ([`Runtime::execute_chain_then`]).

use crate::{effects, Event, ExecutionRequest, Outcome, Runtime, RuntimeError};
use std::time::Instant;

/// The actions of one flow run back to back: each sees the event with the metadata changes of the
/// ones before ([`effects`]). The first step's event is the chain's; later steps' `event` is replaced.
#[derive(Debug)]
pub struct Chain {
    pub steps: Vec<ExecutionRequest>,
    /// The wall clock left for the whole chain: each step's `wall_ms_max` is capped by what remains.
    pub budget_ms: u64,
}

/// What [`Runtime::execute_chain_then`] calls with the chain's results.
pub type ChainDone = Box<dyn FnOnce(Vec<Result<Outcome, RuntimeError>>) + Send>;

/// A chain in progress: the steps left, the results so far, the event the next step sees.
struct Walk {
    steps: std::vec::IntoIter<ExecutionRequest>,
    budget_ms: u64,
    started: Instant,
    results: Vec<Result<Outcome, RuntimeError>>,
    /// The event the next step sees, once a step ran.
    event: Option<Event>,
    /// The event as a value, parsed only once a step changes it.
    value: Option<serde_json::Value>,
    /// The event the step in flight saw.
    current: Option<Event>,
}

impl Walk {
    fn new(chain: Chain) -> Walk {
        Walk {
            results: Vec::with_capacity(chain.steps.len()),
            steps: chain.steps.into_iter(),
            budget_ms: chain.budget_ms,
            started: Instant::now(),
            event: None,
            value: None,
            current: None,
        }
    }

    /// The next step to run, with what is left of the budget; `None` when the chain is over.
    fn next_step(&mut self) -> Option<ExecutionRequest> {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let remaining = self.budget_ms.saturating_sub(elapsed);
        if remaining == 0 {
            return None;
        }
        let mut step = self.steps.next()?;
        step.limits.wall_ms_max = step.limits.wall_ms_max.min(remaining);
        if let Some(event) = &self.event {
            step.event = event.clone();
        }
        self.current = Some(step.event.clone());
        Some(step)
    }

    /// Records the step's result; `false` when the chain stops here.
    fn record(&mut self, result: Result<Outcome, RuntimeError>) -> bool {
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(error) => {
                self.results.push(Err(error));
                return false;
            }
        };
        let stop = outcome.ends_chain();
        if !stop {
            let Some(current) = self.current.take() else {
                self.results.push(Ok(outcome));
                return false;
            };
            let mut changed = false;
            for call in &outcome.api_calls {
                let value = self.value.get_or_insert_with(|| {
                    serde_json::from_str(current.as_json()).unwrap_or_default()
                });
                changed |= effects::apply(value, call);
            }
            self.event = match (changed, &self.value) {
                (true, Some(value)) => match Event::new(value) {
                    Ok(changed) => Some(changed),
                    Err(error) => {
                        self.results.push(Ok(outcome));
                        self.results.push(Err(error));
                        return false;
                    }
                },
                _ => Some(current),
            };
        }
        self.results.push(Ok(outcome));
        !stop
    }
}

/// The chain's steps run one after another through `execute` (see
/// [`Engine::execute_chain`](crate::Engine::execute_chain)).
pub async fn run_chain<F, Fut>(chain: Chain, execute: F) -> Vec<Result<Outcome, RuntimeError>>
where
    F: Fn(ExecutionRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Outcome, RuntimeError>>,
{
    let mut walk = Walk::new(chain);
    while let Some(step) = walk.next_step() {
        if !walk.record(execute(step).await) {
            break;
        }
    }
    walk.results
}

impl Runtime {
    /// Runs the chain as [`run_chain`] does and calls `done` with its results, each step started
    /// from the isolate thread that ran the one before: no other thread is woken between steps or
    /// for the answer. `done` must be quick and must not block, as for [`Runtime::execute_then`].
    pub fn execute_chain_then(&self, chain: Chain, done: ChainDone) {
        step(self.clone(), Walk::new(chain), done);
    }
}

fn step(runtime: Runtime, mut walk: Walk, done: ChainDone) {
    let Some(request) = walk.next_step() else {
        done(walk.results);
        return;
    };
    let next = runtime.clone();
    runtime.execute_then(
        request,
        false,
        Box::new(move |result| {
            if walk.record(result) {
                step(next, walk, done);
            } else {
                done(walk.results);
            }
        }),
    );
}
