//! Readiness of the components of a process: `/readyz` answers 200 only when every registered
//! component says it is ready (e.g. a consumer has its partitions), and names those that are not.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Readiness {
    components: Arc<Mutex<BTreeMap<&'static str, bool>>>,
}

impl Readiness {
    /// Declares a component, not ready yet.
    pub fn register(&self, name: &'static str) {
        if let Ok(mut c) = self.components.lock() {
            c.insert(name, false);
        }
    }

    pub fn set(&self, name: &'static str, ready: bool) {
        if let Ok(mut c) = self.components.lock() {
            c.insert(name, ready);
        }
    }

    /// The components that are not ready (empty when all are).
    pub fn waiting_for(&self) -> Vec<&'static str> {
        self.components
            .lock()
            .map(|c| c.iter().filter(|(_, r)| !**r).map(|(n, _)| *n).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_component_is() {
        let r = Readiness::default();
        r.register("a");
        r.register("b");
        r.set("a", true);
        assert_eq!(r.waiting_for(), vec!["b"]);
        r.set("b", true);
        assert!(r.waiting_for().is_empty());
    }
}
