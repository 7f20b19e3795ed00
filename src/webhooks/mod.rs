//! Webhooks: organisations are told what changed, at least once, signed.
//!
//! - [`subscriptions`]: an organisation's subscriptions and their signing secrets;
//! - [`fanout`]: who is told of each event the domains record in the outbox;
//! - [`worker`]: delivery, shared by every instance and fair between organisations, with retries;
//! - [`deliveries`]: the deliveries log, re-sending by hand, and erasure;
//! - [`limits`]: how much one subscription may queue, and how often it may be sent by hand;
//! - [`signing`], [`sealing`] and [`target`]: Standard Webhooks signatures, secrets at rest, and
//!   where a webhook may go.

pub mod deliveries;
pub mod fanout;
pub mod handlers;
pub mod limits;
pub mod model;
pub mod sealing;
pub mod signing;
pub mod subscriptions;
pub mod target;
pub mod worker;

pub use model::*;
