//! What an attainment is: a person's claim to an outcome at a level, with evidence.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::patch::{Patch, double_option};
use crate::records::model::Evidence;

/// A framework version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameworkRef {
    pub code: String,
    pub version: String,
}

/// Evidence for an attainment: the person's own records, and links.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttainmentEvidence {
    /// Ids of the person's own records (a placement, a course). At most 50.
    #[serde(default)]
    pub record_ids: Vec<uuid::Uuid>,
    /// https links. At most 20.
    #[serde(default)]
    pub links: Vec<Evidence>,
}

/// Whether an organisation has signed an attainment off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttainmentStatus {
    SelfAssessed,
    Verified,
}

impl AttainmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttainmentStatus::SelfAssessed => "self_assessed",
            AttainmentStatus::Verified => "verified",
        }
    }
}

/// An organisation's sign-off of an attainment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    pub organisation_id: uuid::Uuid,
    pub organisation_name: String,
    pub assessor_name: String,
    pub assessor_role: String,
    /// The level the assessor confirmed.
    pub level: i32,
    pub comment: Option<String>,
    pub verified_at: DateTime<Utc>,
}

/// What a verifier is answered: the sign-off it wrote, and nothing of the attainment it signed.
/// A write grant lets an organisation verify an attainment, not read the person's reflection,
/// evidence or other organisations' assessments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerificationReceipt {
    /// The attainment signed off.
    pub attainment_id: uuid::Uuid,
    pub verification: Verification,
}

/// A person's attainment of a learning outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attainment {
    pub id: uuid::Uuid,
    /// The framework version it was made against; it keeps pointing there when newer versions appear.
    pub framework: FrameworkRef,
    pub outcome_code: String,
    pub domain_code: String,
    /// The level claimed, from the framework's scale.
    pub level: i32,
    pub achieved_on: NaiveDate,
    pub reflection: Option<String>,
    pub evidence: AttainmentEvidence,
    pub status: AttainmentStatus,
    /// The sign-off in force, when verified.
    pub verification: Option<Verification>,
    /// Every sign-off given, newest first; an edit by the person ends the one in force.
    pub verification_history: Vec<Verification>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For the ETag.
    #[serde(skip)]
    pub version: i32,
}

/// A new attainment.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttainmentInput {
    pub framework: FrameworkRef,
    pub outcome_code: String,
    /// A level of the framework's scale.
    pub level: i32,
    /// Not in the future.
    pub achieved_on: NaiveDate,
    #[schema(max_length = 5000)]
    pub reflection: Option<String>,
    #[serde(default)]
    pub evidence: AttainmentEvidence,
}

/// Changes to an attainment (JSON merge patch). Any change to a verified attainment returns it
/// to `self_assessed`; the earlier verification stays in its history.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttainmentPatch {
    pub level: Option<i32>,
    pub achieved_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub reflection: Patch<String>,
    pub evidence: Option<AttainmentEvidence>,
}

/// An organisation's sign-off.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationInput {
    #[schema(min_length = 1, max_length = 200, example = "Dr A. Mensah")]
    pub assessor_name: String,
    #[schema(min_length = 1, max_length = 200, example = "Placement supervisor")]
    pub assessor_role: String,
    /// The level confirmed, from the framework's scale.
    pub level: i32,
    #[schema(max_length = 5000)]
    pub comment: Option<String>,
}

/// Filters of the attainment list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttainmentFilter {
    /// Only attainments against this framework code.
    pub framework: Option<String>,
    /// With `framework`: only this version.
    pub version: Option<String>,
    /// Only outcomes of this domain.
    pub domain: Option<String>,
    pub status: Option<AttainmentStatus>,
}

/// Progress against one outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeProgress {
    pub outcome_code: String,
    pub title: String,
    /// The highest level attained, if any.
    pub level: Option<i32>,
    /// The highest level confirmed by a verification, if any.
    pub verified_level: Option<i32>,
}

/// Progress in one domain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DomainProgress {
    pub code: String,
    pub title: String,
    pub outcomes: usize,
    pub attained: usize,
    pub verified: usize,
    pub items: Vec<OutcomeProgress>,
}

/// A person's progress through a framework version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Progress {
    pub framework: FrameworkRef,
    pub title: String,
    pub outcomes: usize,
    pub attained: usize,
    pub verified: usize,
    pub domains: Vec<DomainProgress>,
}
