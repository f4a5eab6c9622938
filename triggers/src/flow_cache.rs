//! The flows dispatch runs, kept in memory between dispatches. A cached flow is served after the
//! store's [`FlowStamp`] of that tenant's trigger (bindings revision and each bound action's deployed
//! version number, one cheap read) still equals the stamp of the flow as it was read; deployed
//! versions are immutable, which is what makes an equal stamp mean an equal flow. A flow whose stamp
//! was checked less than `fresh_for` ago (100 ms by default) is served without reading it again —
//! unless a change went through this process since ([`FlowCache::changed`], which the server calls
//! after every call that changes something): an edit of the bindings, a deploy or a rollback is seen
//! by the very next dispatch on the node that made it, and within `fresh_for` on the others.
//!
//! Entries are keyed by (tenant, trigger): a tenant's stamp is only ever compared with that tenant's
//! entry. The cache is bounded by entries and by the bytes of code it holds; past either bound it is
//! emptied (a miss costs one more read, never a wrong flow).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actionflow_store::{Flow, FlowStamp};

use crate::flow::{PlannedStep, Step};

/// Flows kept at most.
pub const CACHED_FLOWS_MAX: usize = 4_096;
/// Bytes of action code (and lockfiles, roughly) kept at most.
pub const CACHED_FLOW_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A flow as dispatch runs it: the steps with their versions loaded.
#[derive(Debug)]
pub struct CachedFlow {
    pub stamp: FlowStamp,
    pub steps: Vec<Step>,
}

impl CachedFlow {
    pub fn new(flow: Flow) -> CachedFlow {
        let stamp = flow.stamp();
        let steps = flow
            .steps
            .into_iter()
            .map(|step| Step {
                planned: PlannedStep {
                    action_id: step.binding.action_id,
                    display_name: step.binding.display_name,
                    version: step.version.as_ref().map(|v| v.number),
                    on_error: step.binding.on_error,
                },
                version: step.version.map(Arc::new),
            })
            .collect();
        CachedFlow { stamp, steps }
    }

    fn bytes(&self) -> usize {
        self.steps
            .iter()
            .filter_map(|step| step.version.as_ref())
            .map(|v| v.code.len() + v.lockfile.to_string().len())
            .sum()
    }
}

/// How long a checked stamp is trusted on nodes that did not make a change.
pub const FLOW_FRESH_FOR: Duration = Duration::from_millis(100);

struct Entry {
    flow: Arc<CachedFlow>,
    bytes: usize,
    /// When its stamp was last found current, and the change generation it was read under.
    checked: Instant,
    generation: u64,
}

#[derive(Default)]
struct Entries {
    flows: HashMap<(String, String), Entry>,
    bytes: usize,
}

/// Tenant flows by (tenant, trigger).
#[derive(Default)]
pub struct FlowCache {
    entries: Mutex<Entries>,
    /// Bumped by every change made through this process.
    generation: AtomicU64,
}

impl FlowCache {
    /// The generation to read a stamp under (before reading it).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Something changed through this process: every flow's stamp is read again.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The cached flow when its stamp was found current less than `fresh_for` ago and nothing
    /// changed through this process since.
    pub fn fresh(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        fresh_for: Duration,
    ) -> Option<Arc<CachedFlow>> {
        let generation = self.generation();
        let entries = self.entries.lock().ok()?;
        let entry = entries
            .flows
            .get(&(tenant_id.to_owned(), trigger_id.to_owned()))?;
        (entry.generation == generation && entry.checked.elapsed() < fresh_for)
            .then(|| entry.flow.clone())
    }

    /// The cached flow of the tenant's trigger if its stamp is `current` (read under `generation`),
    /// which then counts as checked now.
    pub fn get(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        current: &FlowStamp,
        generation: u64,
    ) -> Option<Arc<CachedFlow>> {
        let mut entries = self.entries.lock().ok()?;
        let key = (tenant_id.to_owned(), trigger_id.to_owned());
        let entry = entries.flows.get_mut(&key)?;
        if entry.flow.stamp != *current {
            return None;
        }
        entry.checked = Instant::now();
        entry.generation = generation;
        Some(entry.flow.clone())
    }

    /// Keeps `flow` (read under `generation`) as the tenant's trigger's flow, replacing an older one.
    pub fn put(&self, tenant_id: &str, trigger_id: &str, flow: Arc<CachedFlow>, generation: u64) {
        let bytes = flow.bytes();
        if bytes > CACHED_FLOW_BYTES_MAX / 4 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let key = (tenant_id.to_owned(), trigger_id.to_owned());
        if let Some(old) = entries.flows.remove(&key) {
            entries.bytes -= old.bytes;
        }
        if entries.flows.len() >= CACHED_FLOWS_MAX || entries.bytes + bytes > CACHED_FLOW_BYTES_MAX
        {
            *entries = Entries::default();
        }
        entries.bytes += bytes;
        let entry = Entry {
            flow,
            bytes,
            checked: Instant::now(),
            generation,
        };
        entries.flows.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actionflow_store::{ActionVersion, Binding, FlowStep, OnError};

    fn flow(revision: i64, action_id: &str, number: i64) -> Flow {
        let version = ActionVersion {
            id: format!("{action_id}-v{number}"),
            tenant_id: "t".to_owned(),
            action_id: action_id.to_owned(),
            number,
            code: "exports.onExecutePostLogin = async () => {};".to_owned(),
            dependencies: Vec::new(),
            lockfile: serde_json::Value::Null,
            runtime: "node22".to_owned(),
            secret_names: Vec::new(),
            supported_triggers: vec!["post-login".to_owned()],
            copied_from: None,
            created_at: chrono::Utc::now(),
            is_current: true,
        };
        Flow {
            trigger_id: "post-login".to_owned(),
            revision,
            steps: vec![FlowStep {
                binding: Binding {
                    action_id: action_id.to_owned(),
                    display_name: action_id.to_owned(),
                    on_error: OnError::Fail,
                },
                version: Some(version),
            }],
        }
    }

    #[test]
    fn serves_only_the_same_tenant_and_stamp() {
        let cache = FlowCache::default();
        let a = Arc::new(CachedFlow::new(flow(1, "a", 1)));
        let stamp = a.stamp.clone();
        cache.put("tenant-a", "post-login", a, 0);
        let hit = cache.get("tenant-a", "post-login", &stamp, 0).unwrap();
        assert_eq!(hit.steps[0].planned.action_id, "a");
        // Another tenant with an equal stamp (same revision and version numbers) gets nothing.
        assert!(cache.get("tenant-b", "post-login", &stamp, 0).is_none());
        assert!(cache
            .get("tenant-a", "post-user-registration", &stamp, 0)
            .is_none());
        // A deploy (new version number) or a bindings edit (new revision) misses.
        let deployed = FlowStamp {
            revision: 1,
            versions: vec![Some(2)],
        };
        assert!(cache.get("tenant-a", "post-login", &deployed, 0).is_none());
        let edited = FlowStamp {
            revision: 2,
            versions: vec![Some(1)],
        };
        assert!(cache.get("tenant-a", "post-login", &edited, 0).is_none());
    }

    #[test]
    fn bounded_by_entries() {
        let cache = FlowCache::default();
        for n in 0..=CACHED_FLOWS_MAX {
            let flow = Arc::new(CachedFlow::new(flow(1, "a", 1)));
            cache.put(&format!("tenant-{n}"), "post-login", flow, 0);
        }
        let entries = cache.entries.lock().unwrap();
        assert!(entries.flows.len() <= CACHED_FLOWS_MAX);
        let bytes: usize = entries.flows.values().map(|e| e.bytes).sum();
        assert_eq!(entries.bytes, bytes);
    }

    #[test]
    fn a_checked_flow_is_fresh_until_a_change_here_or_its_time() {
        let cache = FlowCache::default();
        let flow = Arc::new(CachedFlow::new(flow(1, "a", 1)));
        let generation = cache.generation();
        cache.put("t", "post-login", flow, generation);
        let fresh_for = Duration::from_millis(50);
        assert!(cache.fresh("t", "post-login", fresh_for).is_some());
        assert!(cache.fresh("u", "post-login", fresh_for).is_none());
        cache.changed();
        assert!(cache.fresh("t", "post-login", fresh_for).is_none());
        let stamp = flow_stamp_of(&cache);
        assert!(cache
            .get("t", "post-login", &stamp, cache.generation())
            .is_some());
        assert!(cache.fresh("t", "post-login", fresh_for).is_some());
        std::thread::sleep(fresh_for);
        assert!(cache.fresh("t", "post-login", fresh_for).is_none());
    }

    fn flow_stamp_of(cache: &FlowCache) -> FlowStamp {
        let entries = cache.entries.lock().unwrap();
        entries.flows.values().next().unwrap().flow.stamp.clone()
    }
}
