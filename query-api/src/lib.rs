//! balados-query-api
