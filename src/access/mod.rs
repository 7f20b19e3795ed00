//! The access log: every organisation request that touches a person's data, allowed or denied,
//! readable by that person and by no organisation.

pub mod handlers;
pub mod model;
pub mod store;

pub use model::{AccessEvent, AccessFilter};
pub use store::{MAX_REFUSALS_PER_DAY, append, append_all, list, refused};

use crate::db::ids::{GrantId, OrganisationId, PersonId};

/// An access to log.
#[derive(Debug, Clone)]
pub struct Access<'a> {
    pub person_id: PersonId,
    pub organisation_id: OrganisationId,
    pub client_id: &'a str,
    pub grant_id: Option<GrantId>,
    pub action: &'static str,
    pub resource: String,
    pub allowed: bool,
    pub reason: Option<String>,
}
