//! balados-aggregator
