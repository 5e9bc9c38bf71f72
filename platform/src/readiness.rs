//! Readiness of the components of a process: `/readyz` answers 200 only when every registered
//! component says it is ready (e.g. a consumer has its partitions) and none is awaiting a
//! dependency that went away (the broker, PostgreSQL); it names those that are not, and what they
//! await.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Component {
    ready: bool,
    /// A dependency the component cannot work without, gone since `awaiting` was called.
    awaiting: Option<&'static str>,
}

#[derive(Debug, Clone, Default)]
pub struct Readiness {
    components: Arc<Mutex<BTreeMap<&'static str, Component>>>,
}

impl Readiness {
    /// Declares a component, not ready yet.
    pub fn register(&self, name: &'static str) {
        if let Ok(mut c) = self.components.lock() {
            c.insert(name, Component::default());
        }
    }

    pub fn set(&self, name: &'static str, ready: bool) {
        if let Ok(mut c) = self.components.lock() {
            c.entry(name).or_default().ready = ready;
        }
    }

    /// The component waits for `dependency` (e.g. "kafka", "postgresql") to come back.
    pub fn awaiting(&self, name: &'static str, dependency: &'static str) {
        if let Ok(mut c) = self.components.lock() {
            c.entry(name).or_default().awaiting = Some(dependency);
        }
    }

    /// The dependency the component awaited is back.
    pub fn resolved(&self, name: &'static str) {
        if let Ok(mut c) = self.components.lock()
            && let Some(component) = c.get_mut(name)
        {
            component.awaiting = None;
        }
    }

    /// The components that are not ready (empty when all are): `name` while starting, `name:
    /// awaiting dependency` while a dependency is gone.
    pub fn waiting_for(&self) -> Vec<String> {
        self.components
            .lock()
            .map(|c| {
                c.iter()
                    .filter_map(|(name, state)| match (state.ready, state.awaiting) {
                        (_, Some(dependency)) => Some(format!("{name}: awaiting {dependency}")),
                        (false, None) => Some((*name).to_owned()),
                        (true, None) => None,
                    })
                    .collect()
            })
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

    #[test]
    fn a_lost_dependency_is_named_until_it_is_back() {
        let r = Readiness::default();
        r.register("aggregator");
        r.set("aggregator", true);
        r.awaiting("aggregator", "kafka");
        assert_eq!(r.waiting_for(), vec!["aggregator: awaiting kafka"]);
        r.resolved("aggregator");
        assert!(r.waiting_for().is_empty());
    }
}
