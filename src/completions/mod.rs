//! Learning platforms push completions: issued records, idempotent by the platform's own id.

mod corrections;
pub mod handlers;
mod ingest;
mod item;
pub mod model;

pub use corrections::{correct, void};
pub use ingest::push;
pub use model::*;

use crate::db::ids::OrganisationId;

/// The pushing organisation.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub organisation_id: OrganisationId,
    pub client_id: String,
}
