//! The access log: every organisation request that touches a person's data, allowed or denied,
//! readable by that person and by no organisation.

pub mod handlers;
pub mod model;
pub mod store;

pub use model::{AccessEvent, AccessFilter};
pub use store::{MAX_REFUSALS_PER_DAY, append, append_all, list, refused};

use crate::db::types::Id;

/// An access to log.
#[derive(Debug, Clone)]
pub struct Access<'a> {
    pub person_id: Id,
    pub organisation_id: Id,
    pub client_id: &'a str,
    pub grant_id: Option<Id>,
    pub action: &'static str,
    pub resource: String,
    pub allowed: bool,
    pub reason: Option<String>,
}
