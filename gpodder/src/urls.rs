//! Feed URL normalisation, shared with the ingest's OPML import: it lives in the platform crate
//! (the ingest cannot depend on this crate, which depends on it).

pub use balados_platform::feed_urls::*;
