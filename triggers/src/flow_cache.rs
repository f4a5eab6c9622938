//! The flows dispatch runs, kept in memory between dispatches. A cached flow is served only after the
//! store's [`FlowStamp`] of that tenant's trigger (bindings revision and each bound action's deployed
//! version number, one cheap read) still equals the stamp of the flow as it was read, so an edit of
//! the bindings or a deploy or rollback on any node is seen by the next dispatch. Deployed versions
//! are immutable, which is what makes an equal stamp mean an equal flow.
//!
//! Entries are keyed by (tenant, trigger): a tenant's stamp is only ever compared with that tenant's
//! entry. The cache is bounded by entries and by the bytes of code it holds; past either bound it is
//! emptied (a miss costs one more read, never a wrong flow).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

#[derive(Default)]
struct Entries {
    flows: HashMap<(String, String), (Arc<CachedFlow>, usize)>,
    bytes: usize,
}

/// Tenant flows by (tenant, trigger).
#[derive(Default)]
pub struct FlowCache {
    entries: Mutex<Entries>,
}

impl FlowCache {
    /// The cached flow of the tenant's trigger if its stamp is `current`.
    pub fn get(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        current: &FlowStamp,
    ) -> Option<Arc<CachedFlow>> {
        let entries = self.entries.lock().ok()?;
        let key = (tenant_id.to_owned(), trigger_id.to_owned());
        let (flow, _) = entries.flows.get(&key)?;
        (flow.stamp == *current).then(|| flow.clone())
    }

    /// Keeps `flow` as the tenant's trigger's flow (replacing an older one).
    pub fn put(&self, tenant_id: &str, trigger_id: &str, flow: Arc<CachedFlow>) {
        let bytes = flow.bytes();
        if bytes > CACHED_FLOW_BYTES_MAX / 4 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let key = (tenant_id.to_owned(), trigger_id.to_owned());
        if let Some((_, old)) = entries.flows.remove(&key) {
            entries.bytes -= old;
        }
        if entries.flows.len() >= CACHED_FLOWS_MAX || entries.bytes + bytes > CACHED_FLOW_BYTES_MAX
        {
            *entries = Entries::default();
        }
        entries.bytes += bytes;
        entries.flows.insert(key, (flow, bytes));
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
        cache.put("tenant-a", "post-login", a);
        let hit = cache.get("tenant-a", "post-login", &stamp).unwrap();
        assert_eq!(hit.steps[0].planned.action_id, "a");
        // Another tenant with an equal stamp (same revision and version numbers) gets nothing.
        assert!(cache.get("tenant-b", "post-login", &stamp).is_none());
        assert!(cache
            .get("tenant-a", "post-user-registration", &stamp)
            .is_none());
        // A deploy (new version number) or a bindings edit (new revision) misses.
        let deployed = FlowStamp {
            revision: 1,
            versions: vec![Some(2)],
        };
        assert!(cache.get("tenant-a", "post-login", &deployed).is_none());
        let edited = FlowStamp {
            revision: 2,
            versions: vec![Some(1)],
        };
        assert!(cache.get("tenant-a", "post-login", &edited).is_none());
    }

    #[test]
    fn bounded_by_entries() {
        let cache = FlowCache::default();
        for n in 0..=CACHED_FLOWS_MAX {
            let flow = Arc::new(CachedFlow::new(flow(1, "a", 1)));
            cache.put(&format!("tenant-{n}"), "post-login", flow);
        }
        let entries = cache.entries.lock().unwrap();
        assert!(entries.flows.len() <= CACHED_FLOWS_MAX);
        let bytes: usize = entries.flows.values().map(|(_, b)| b).sum();
        assert_eq!(entries.bytes, bytes);
    }
}
