//! The test harness: starts the service on a fresh database of either backend, over real HTTP,
//! and gives each kind of caller a ready-made client.
//!
//! PostgreSQL: each test gets its own database, cloned from a template that is migrated once
//! per migration set, and dropped when the test ends. The server comes from
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot
//! be reached the PostgreSQL half of each test is skipped with a loud warning, unless `CI` is
//! set, in which case it fails.
//!
//! - `backends`: `Backend`, and `on_both_backends!` / `on_each_backend!`
//! - `app`: `TestApp`, the running service (`database`: the PostgreSQL database of each test)
//! - `http`: requests, `Reply`, and assertions on replies
//! - `seed`: organisations, people's tokens and data seeded straight into the database
//! - `snapshots`: `snapshot!` and its redactions
//! - `alternate`, `credentials`, `receiver`, `webhooks`, `xapi`: helpers of their features

#![allow(dead_code)]

mod app;
mod backends;
mod database;
mod http;
mod seed;
mod snapshots;

pub mod alternate;
pub mod credentials;
pub mod receiver;
pub mod webhooks;
pub mod xapi;

// The names every test file reaches as `support::…`. Each test file is a crate of its own and
// uses only some of them.
#[allow(unused_imports)]
pub use app::{TestApp, test_settings};
pub use backends::Backend;
#[allow(unused_imports)]
pub use database::UnusedDatabase;
#[allow(unused_imports)]
pub use http::{Reply, eventually, exactly_one_wins};
pub use reqwest::{Method, StatusCode};
#[allow(unused_imports)]
pub use seed::{OrgClient, publish_example_framework, seed_records};
#[allow(unused_imports)]
pub use snapshots::redact;
