//! Places for test runs and deploy checks: a bound on how many wait or run at once, and a smaller
//! bound per tenant, so one tenant's flood is refused for that tenant ([`Error::Busy`]) while the
//! others still get places.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// The places, shared by every test run and deploy check of a server.
#[derive(Debug)]
pub struct TestPlaces {
    taken: Mutex<Taken>,
    total_max: usize,
    per_tenant_max: usize,
}

#[derive(Debug, Default)]
struct Taken {
    total: usize,
    by_tenant: HashMap<String, usize>,
}

/// A place held until dropped.
#[derive(Debug)]
pub struct Place {
    places: Arc<TestPlaces>,
    tenant_id: String,
}

impl TestPlaces {
    /// At most `total_max` at once, of which at most half (at least one) for one tenant.
    pub fn new(total_max: usize) -> Arc<TestPlaces> {
        let total_max = total_max.max(1);
        Arc::new(TestPlaces {
            taken: Mutex::default(),
            total_max,
            per_tenant_max: (total_max / 2).max(1),
        })
    }

    /// A place for `tenant_id`, or `Busy` when it holds its share or every place is taken.
    pub fn take(self: &Arc<Self>, tenant_id: &str) -> Result<Place> {
        let mut taken = self.lock();
        let mine = taken.by_tenant.get(tenant_id).copied().unwrap_or(0);
        if mine >= self.per_tenant_max || taken.total >= self.total_max {
            return Err(Error::Busy);
        }
        taken.total += 1;
        taken.by_tenant.insert(tenant_id.to_owned(), mine + 1);
        Ok(Place {
            places: self.clone(),
            tenant_id: tenant_id.to_owned(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Taken> {
        self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut taken = self.places.lock();
        taken.total = taken.total.saturating_sub(1);
        if let Some(mine) = taken.by_tenant.get_mut(&self.tenant_id) {
            *mine -= 1;
            if *mine == 0 {
                taken.by_tenant.remove(&self.tenant_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_tenant_holding_its_share_leaves_places_to_others() {
        let places = TestPlaces::new(8);
        let a: Vec<Place> = (0..4).map(|_| places.take("a").unwrap()).collect();
        assert!(matches!(places.take("a"), Err(Error::Busy)));
        let b: Vec<Place> = (0..4).map(|_| places.take("b").unwrap()).collect();
        assert!(matches!(places.take("c"), Err(Error::Busy)), "all 8 taken");
        drop(a);
        assert!(places.take("c").is_ok());
        drop(b);
        assert_eq!(places.lock().total, 0);
        assert!(places.lock().by_tenant.is_empty());
    }
}
