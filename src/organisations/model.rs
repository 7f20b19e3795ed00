//! Organisations and their clients as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Organisation;

/// A new client's credentials: the only time the secret is ever shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewCredentials {
    pub organisation_id: uuid::Uuid,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: String,
}

/// An organisation in the directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: uuid::Uuid,
    pub name: String,
    /// The NHS Organisation Data Service code, when it has one.
    pub ods_code: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Organisation> for OrganisationView {
    fn from(o: Organisation) -> Self {
        OrganisationView {
            id: o.id.0,
            name: o.name,
            ods_code: o.ods_code,
            created_at: o.created_at.0,
        }
    }
}

/// A new organisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "St Elsewhere NHS Foundation Trust"
    )]
    pub name: String,
    /// Unique when given.
    #[schema(max_length = 12, example = "RXX")]
    pub ods_code: Option<String>,
}

/// A new API client of an organisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// At least one scope.
    pub scopes: Vec<crate::auth::Scope>,
}

/// An API client, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    /// Space-separated.
    pub scopes: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Set once revoked: its tokens stop working at once.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Directory search.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryFilter {
    /// Part of the name, any case.
    pub q: Option<String>,
    /// An exact ODS code, any case.
    pub ods_code: Option<String>,
}
