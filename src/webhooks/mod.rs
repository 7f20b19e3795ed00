//! Webhooks: organisations are told what changed, at least once, signed.
//!
//! - [`subscriptions`]: an organisation's subscriptions and their signing secrets;
//! - [`events`]: events written to the outbox in the transaction of the change that causes them;
//! - [`worker`]: delivery, shared by every instance and fair between organisations, with retries;
//! - [`deliveries`]: the deliveries log, re-sending by hand, and erasure;
//! - [`limits`]: how much one subscription may queue, and how often it may be sent by hand;
//! - [`signing`], [`sealing`] and [`target`]: Standard Webhooks signatures, secrets at rest, and
//!   where a webhook may go.

pub mod deliveries;
pub mod events;
pub mod handlers;
pub mod limits;
pub mod model;
pub mod sealing;
pub mod signing;
pub mod subscriptions;
pub mod target;
pub mod worker;

pub use model::*;
