//! A person's profile as the API shows it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PersonRow;
use crate::http::patch::{Patch, double_option};

/// A professional registration, e.g. with the NMC or the GMC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The regulator, e.g. `NMC`, `GMC`, `HCPC`.
    #[schema(example = "NMC")]
    pub body: String,
    /// The registration number (PIN).
    #[schema(example = "12A3456E")]
    pub number: String,
}

/// A person's profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Profile {
    /// The passport's id: what a person gives an organisation so that it can find what they share.
    pub id: uuid::Uuid,
    /// The name shown to organisations the person shares with.
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub registration: Option<Registration>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&PersonRow> for Profile {
    fn from(row: &PersonRow) -> Self {
        Profile {
            id: row.id.0,
            display_name: row.display_name.clone(),
            email: row.email.clone(),
            registration: match (&row.registration_body, &row.registration_number) {
                (Some(body), Some(number)) => Some(Registration {
                    body: body.clone(),
                    number: number.clone(),
                }),
                _ => None,
            },
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

/// Changes to a profile (JSON merge patch: an absent field is kept, `null` clears it).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub display_name: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 320)]
    pub email: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Registration>)]
    pub registration: Patch<Registration>,
}
