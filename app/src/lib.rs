//! The application as a library: [`serve::run`] builds every service a process runs (or a subset,
//! [`Components`]) and the HTTP server from the settings, and stops them all on one signal;
//! [`registry::run`] serves the schema registry; [`startup`] waits for what a service needs. The
//! `balados` binary only parses its command line and calls these.

mod fair_use;
pub mod http;
pub mod registry;
pub mod serve;
pub mod startup;

pub use serve::{App, Components, SHUTDOWN_GRACE, run, shutdown_signal};
