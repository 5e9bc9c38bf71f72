//! balados-platform
