//! Integration tests of the registry's HTTP API against a real PostgreSQL (one binary).

mod auth;
mod compatibility;
mod config;
mod converter;
mod delete;
mod errors;
mod helpers;
mod register;
