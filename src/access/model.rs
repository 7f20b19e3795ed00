//! The access log as the API shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One organisation request that touched the person's data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessEvent {
    pub id: uuid::Uuid,
    pub organisation_id: uuid::Uuid,
    pub organisation_name: String,
    /// The organisation's API client that made the request.
    pub client_id: String,
    /// The grant that allowed it, when one did.
    pub grant_id: Option<uuid::Uuid>,
    /// What was asked: `records.list`, `records.read`, `attainments.list`, …
    #[schema(example = "records.list")]
    pub action: String,
    /// What it was asked of, e.g. `records` or `records/{id}`.
    pub resource: String,
    pub allowed: bool,
    /// Why it was refused, when it was.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Filters of the access log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessFilter {
    /// Only accesses by this organisation.
    pub organisation_id: Option<uuid::Uuid>,
    /// Only accesses at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only accesses before this time.
    pub to: Option<DateTime<Utc>>,
}
