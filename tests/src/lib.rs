//! balados-e2e
