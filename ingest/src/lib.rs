//! balados-ingest
