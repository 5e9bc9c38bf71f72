//! PostgreSQL storage of schemas, subject versions and compatibility levels (schema `registry`).

pub mod config;
pub mod delete;
pub mod migrate;
pub mod read;
pub mod register;
