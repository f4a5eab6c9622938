//! Tenants' own execution limits (today: the CPU limit per execution), read from the store and kept
//! for a few seconds, so that the executions of a dispatch read none: a change made through this
//! node is seen at once ([`TenantLimits::forget`]), through another node within the TTL.

use std::sync::Arc;
use std::time::Duration;

use actionflow_runtime::Limits;
use actionflow_store::SharedStore;

use crate::kept::Kept;

/// How long a tenant's limits are used without reading them again.
pub const TENANT_LIMITS_TTL: Duration = Duration::from_secs(5);

/// The cache of tenants' limits; cheap to share.
pub struct TenantLimits {
    store: SharedStore,
    known: Kept<Option<u64>>,
}

impl TenantLimits {
    pub fn new(store: SharedStore, ttl: Duration) -> Arc<TenantLimits> {
        Arc::new(TenantLimits {
            store,
            known: Kept::new(ttl),
        })
    }

    /// The tenant's own CPU limit, if it has one. A store failure keeps the server's default (and
    /// is logged): a limit is never a reason to refuse an execution.
    pub async fn cpu_ms_max(&self, tenant_id: &str) -> Option<u64> {
        if let Some(value) = self.known.get(tenant_id) {
            return value;
        }
        let value = match self.store.get_tenant(tenant_id).await {
            Ok(tenant) => tenant.cpu_ms_max.and_then(|ms| u64::try_from(ms).ok()),
            Err(error) => {
                tracing::warn!(%error, %tenant_id, "reading the tenant's limits");
                return None;
            }
        };
        self.known.put(tenant_id, value);
        value
    }

    /// `limits` with the tenant's own values over the server's.
    pub async fn apply(&self, tenant_id: &str, limits: &mut Limits) {
        if let Some(ms) = self.cpu_ms_max(tenant_id).await {
            limits.cpu_ms_max = ms;
        }
    }

    /// Forgets what is kept for the tenant (its limits just changed through this node).
    pub fn forget(&self, tenant_id: &str) {
        self.known.forget(tenant_id);
    }
}
