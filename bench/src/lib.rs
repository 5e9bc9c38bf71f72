//! balados-bench
