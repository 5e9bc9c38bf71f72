//! balados-auth
