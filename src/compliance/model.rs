//! Requirement profiles and compliance answers, as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::attainments::FrameworkRef;
use crate::records::RecordKind;

/// One requirement of a role. Each kind has a title, so that generated clients name their
/// models after it (`ActivityRequirement`, not `RequirementType0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Requirement {
    /// Any of these catalogue activities, completed with a passing result (`passed` or
    /// `attended`) and not expired; optionally completed within `max_age_days`.
    #[schema(title = "ActivityRequirement")]
    Activity {
        activity_codes: Vec<String>,
        #[serde(default)]
        max_age_days: Option<i64>,
        /// Only records issued by a learning platform count.
        #[serde(default)]
        issued_only: bool,
    },
    /// At least `hours` of records of a kind completed within the last `within_days` days.
    #[schema(title = "HoursRequirement")]
    Hours {
        kind: RecordKind,
        hours: f64,
        within_days: i64,
    },
    /// An outcome of a framework version at `min_level` or above.
    #[schema(title = "OutcomeRequirement")]
    Outcome {
        framework: FrameworkRef,
        outcome_code: String,
        min_level: i32,
        /// Only verified attainments count, at the level the assessor confirmed.
        #[serde(default)]
        verified_only: bool,
    },
}

/// A role's requirements, e.g. "Registered nurse, band 5".
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequirementProfile {
    pub id: uuid::Uuid,
    pub name: String,
    pub requirements: Vec<Requirement>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub version: i32,
}

/// A profile as `POST` and `PUT` take it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    #[schema(min_length = 1, max_length = 200, example = "Registered nurse, band 5")]
    pub name: String,
    /// 1 to 50 requirements.
    pub requirements: Vec<Requirement>,
}

/// Where a person stands against a requirement, or a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Met, and still met after the look-ahead window.
    Met,
    /// Met now, but it lapses within the look-ahead window.
    Expiring,
    /// Once met; no longer.
    Expired,
    /// Never met, or nothing visible meets it.
    Missing,
}

/// The answer for one requirement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequirementResult {
    pub index: usize,
    pub status: Status,
    /// The records that decide it.
    pub record_ids: Vec<uuid::Uuid>,
    /// The attainments that decide it.
    pub attainment_ids: Vec<uuid::Uuid>,
    /// When what meets it lapses, if it does.
    #[serde(serialize_with = "crate::http::json_time::serialize_option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// True when the person's grant does not cover what this requirement asks about, so that
    /// a `missing` may only mean "not shared with you".
    pub outside_scope: bool,
    pub detail: String,
}

/// A person checked against a profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Compliance {
    pub person_id: uuid::Uuid,
    pub person_display_name: Option<String>,
    pub profile_id: uuid::Uuid,
    /// The worst of the requirements' statuses.
    pub status: Status,
    pub requirements: Vec<RequirementResult>,
    #[serde(serialize_with = "crate::http::json_time::serialize")]
    pub checked_at: DateTime<Utc>,
}

/// Query of a compliance check.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The requirement profile.
    pub profile: uuid::Uuid,
    /// Look-ahead for `expiring`, in days (0 to 3650, default 30).
    pub expiring_within_days: Option<i64>,
}

/// Query of the worklist.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorklistQuery {
    /// The requirement profile.
    pub profile: uuid::Uuid,
    /// Look-ahead for `expiring`, in days (0 to 3650, default 30).
    pub expiring_within_days: Option<i64>,
    /// Only people with this overall status (a page may then hold fewer than `limit` items;
    /// follow `next_cursor`).
    pub status: Option<Status>,
}
