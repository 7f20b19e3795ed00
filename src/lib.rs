//! Learning Passport: a lifelong training record owned by each member of health and care staff.
//!
//! The crate builds one service: [`AppState::start`] opens the database and keys, [`server`]
//! binds the routes of [`api`] to a listener (all three in [`http`]). `main.rs` is the command
//! line around it.

pub mod access;
pub mod access_requests;
pub mod activities;
pub mod allocator;
pub mod attainments;
pub mod auth;
pub mod cli;
pub mod completions;
pub mod compliance;
pub mod config;
pub mod credentials;
pub mod db;
pub mod error;
pub mod frameworks;
pub mod grants;
pub mod http;
pub mod openapi;
pub mod organisations;
pub mod outbox;
pub mod people;
pub mod records;
pub mod share_codes;
pub mod sharing;
pub mod webhooks;
pub mod xapi;

pub use http::AppState;
pub use http::routes::{api, openapi};
pub use http::server::server;
