//! What an access request is: an organisation asking a person for a grant, on terms the person
//! may narrow, and what each side sees of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::grants::{GrantScope, Permission};
use crate::people::model::Registration;

/// The longest message an organisation may add, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessRequestStatus {
    /// Not yet answered. A request to someone who holds no passport stays pending until it
    /// expires, exactly like one its addressee has not answered.
    Pending,
    /// The person approved it: `grant_id` is the grant it became.
    Approved,
    /// The person declined it.
    Declined,
    /// Nobody answered it in time.
    Expired,
    /// The organisation withdrew it before it was answered.
    Cancelled,
}

impl AccessRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRequestStatus::Pending => "pending",
            AccessRequestStatus::Approved => "approved",
            AccessRequestStatus::Declined => "declined",
            AccessRequestStatus::Expired => "expired",
            AccessRequestStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "approved" => AccessRequestStatus::Approved,
            "declined" => AccessRequestStatus::Declined,
            "expired" => AccessRequestStatus::Expired,
            "cancelled" => AccessRequestStatus::Cancelled,
            _ => AccessRequestStatus::Pending,
        }
    }
}

/// Who a request is for: exactly one of a passport id, the email the person's identity
/// provider vouched for, or a professional registration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Addressee {
    /// The person's passport id (`id` of `GET /v1/me`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passport_id: Option<uuid::Uuid>,
    /// The email the person's identity provider vouched for; matched without regard to case.
    /// An email the person typed into their profile is not matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "alice@example.org", max_length = 320)]
    pub email: Option<String>,
    /// A professional registration (e.g. `{"body": "NMC", "number": "12A3456B"}`); matched
    /// without regard to case or spaces, against the registration people declared in their
    /// profiles. Declared, not checked: everyone who declared it sees the request, and the
    /// first answer counts; confirm the registration of whoever approves on the body's
    /// register.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
}

/// A new access request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRequestInput {
    /// Who is asked.
    pub addressee: Addressee,
    /// `read` (needs `shared:read`) or `write` (needs `records:write`).
    pub permission: Permission,
    /// What is asked for: `"all"` records or a selection by kind and activity code (record ids
    /// are the person's to choose), and whether attainments are included. Give this or
    /// `requirement_profile_id`, not both.
    pub scope: Option<GrantScope>,
    /// One of the organisation's requirement profiles: the scope becomes what that profile
    /// checks (its activities' codes, its hours' kinds, and attainments if it has outcome
    /// requirements), fixed when the request is made.
    pub requirement_profile_id: Option<uuid::Uuid>,
    /// Why the organisation asks; becomes the grant's purpose. Plain text, as `message`.
    #[schema(
        min_length = 1,
        max_length = 500,
        example = "Pre-employment checks for your post on Ward 7"
    )]
    pub purpose: String,
    /// How long the grant should last once approved, in days (1 to the longest a person may
    /// grant for, `PASSPORT_GRANT_MAX_DAYS`, default 365).
    #[schema(minimum = 1, example = 90)]
    pub duration_days: i64,
    /// A note for the person, up to 1,000 characters, shown as plain text. Control characters
    /// other than line breaks and tabs, and bidirectional overrides, are refused.
    #[schema(
        max_length = 1000,
        example = "Welcome to St Elsewhere! We need this before your first shift."
    )]
    pub message: Option<String>,
}

/// A request as the organisation that made it sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessRequest {
    pub id: uuid::Uuid,
    pub status: AccessRequestStatus,
    /// Who was asked, as the request gave it.
    pub addressee: Addressee,
    /// The client that made the request.
    pub client_id: String,
    pub permission: Permission,
    /// What was asked for.
    pub scope: GrantScope,
    /// The requirement profile the scope was taken from, if one was named.
    pub requirement_profile_id: Option<uuid::Uuid>,
    pub purpose: String,
    pub duration_days: i64,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When a pending request expires.
    pub expires_at: DateTime<Utc>,
    /// When it was approved, declined or cancelled.
    pub answered_at: Option<DateTime<Utc>>,
    /// Present once approved: the grant, as `GET /v1/grants` shows it. Its scope may be
    /// narrower and its term shorter than asked.
    pub grant_id: Option<uuid::Uuid>,
    /// Present once approved: use in `/v1/people/{person_id}/…`.
    pub person_id: Option<uuid::Uuid>,
}

/// A request as the person asked sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncomingAccessRequest {
    pub id: uuid::Uuid,
    pub status: AccessRequestStatus,
    pub organisation_id: uuid::Uuid,
    pub organisation_name: String,
    pub permission: Permission,
    /// What is asked for; approving may narrow it.
    pub scope: GrantScope,
    pub purpose: String,
    /// The grant's term asked for, in days; approving may shorten it.
    pub duration_days: i64,
    /// The organisation's note: display it as plain text, never as markup.
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The grant an approval made (see `GET /v1/me/grants/{id}`).
    pub grant_id: Option<uuid::Uuid>,
}

/// An approval: the grant is made on the request's terms, or on narrower ones given here.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// A scope within the one asked for: fewer kinds or activity codes, some of the records the
    /// request covers (by id), attainments only if asked for. Default: the scope asked for.
    pub scope: Option<GrantScope>,
    /// A shorter term, in days, up to the one asked for. Default: the term asked for.
    #[schema(minimum = 1)]
    pub duration_days: Option<i64>,
}

/// A decline; optionally, no further requests from the organisation.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decline {
    /// Also block the organisation (see `POST /v1/me/blocked-organisations`).
    #[serde(default)]
    pub block: bool,
}

/// Filters of the person's requests.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncomingFilter {
    /// Only requests in this state.
    pub status: Option<AccessRequestStatus>,
}

/// Filters of the organisation's requests.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessRequestFilter {
    /// Only requests in this state.
    pub status: Option<AccessRequestStatus>,
}

/// An organisation the person does not take requests from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockedOrganisation {
    pub organisation_id: uuid::Uuid,
    pub organisation_name: String,
    pub blocked_at: DateTime<Utc>,
}

/// An organisation to block.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockInput {
    pub organisation_id: uuid::Uuid,
}
