//! The aggregator: owns all per-user state, enforces the invariants (pure `domain`), restores
//! state from the compacted `user-state` topic (`store`, `restore`) and runs the exactly-once
//! consume-transform-produce loop (`runner`).

pub mod domain;
