//! What a grant is: a person's consent to one organisation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::FieldError;
use crate::records::RecordKind;

/// What a grant lets the organisation do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the records (and, if the scope says so, the attainments) the scope covers.
    Read,
    /// Push completions and verify attainments.
    Write,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
        }
    }

    pub fn parse(value: &str) -> Self {
        if value == "write" {
            Permission::Write
        } else {
            Permission::Read
        }
    }
}

/// `"all"`: every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum AllRecords {
    #[serde(rename = "all")]
    All,
}

/// Records chosen by kind, by activity code or by id: a record is covered if it matches any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordSelection {
    #[serde(default)]
    pub kinds: Vec<RecordKind>,
    #[serde(default)]
    pub activity_codes: Vec<String>,
    #[serde(default)]
    pub record_ids: Vec<uuid::Uuid>,
}

/// Which records a grant covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RecordScope {
    All(AllRecords),
    Selected(RecordSelection),
}

/// What a grant covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantScope {
    /// `"all"`, or a selection of records.
    pub records: RecordScope,
    /// Whether the person's outcome attainments are covered too.
    #[serde(default)]
    pub attainments: bool,
}

/// Where a grant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Live,
    Expired,
    Revoked,
}

/// A grant, as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Grant {
    pub id: uuid::Uuid,
    pub organisation_id: uuid::Uuid,
    pub organisation_name: String,
    pub permission: Permission,
    pub scope: GrantScope,
    /// Why the person shares, in their words.
    pub purpose: String,
    pub status: GrantStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Grant {
    /// The version its ETag names: a grant changes once, when it is revoked.
    pub fn version(&self) -> i32 {
        if self.revoked_at.is_some() { 2 } else { 1 }
    }
}

/// A grant, as the organisation it was made to sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceivedGrant {
    pub id: uuid::Uuid,
    /// Use in `/v1/people/{person_id}/…`.
    pub person_id: uuid::Uuid,
    pub person_display_name: Option<String>,
    pub permission: Permission,
    pub scope: GrantScope,
    pub purpose: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new grant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    /// The organisation to share with (see `GET /v1/organisations`).
    pub organisation_id: uuid::Uuid,
    pub permission: Permission,
    pub scope: GrantScope,
    #[schema(
        min_length = 1,
        max_length = 500,
        example = "Pre-employment checks for my new post"
    )]
    pub purpose: String,
    /// When the grant ends; in the future, and at most the configured maximum ahead (default one year).
    pub expires_at: DateTime<Utc>,
}

pub const MAX_SELECTORS: usize = 100;

impl GrantInput {
    /// The rules that need no database.
    pub fn check(&self, now: DateTime<Utc>, max_days: i64) -> Vec<FieldError> {
        check_terms(
            &self.scope,
            &self.purpose,
            (self.expires_at, "expires_at"),
            now,
            max_days,
        )
    }
}

/// The rules on a grant's terms (its scope, purpose and expiry) that need no database; the
/// expiry is checked under the name the request gives it. Share codes offer a grant on the
/// same terms, checked by the same rules.
pub fn check_terms(
    scope: &GrantScope,
    purpose: &str,
    (expires_at, expires_field): (DateTime<Utc>, &str),
    now: DateTime<Utc>,
    max_days: i64,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    // The length as sent, as the documented maxLength says; blank is empty.
    if purpose.trim().is_empty() || purpose.chars().count() > 500 {
        errors.push(FieldError::new("purpose", "must be 1 to 500 characters"));
    }
    if expires_at <= now {
        errors.push(FieldError::new(expires_field, "must be in the future"));
    } else if expires_at > now + chrono::Duration::days(max_days) {
        errors.push(FieldError::new(
            expires_field,
            format!("must be at most {max_days} days ahead"),
        ));
    }
    if let RecordScope::Selected(selection) = &scope.records {
        // Attainments alone, with no records, is a scope too.
        if selection.kinds.is_empty()
            && selection.activity_codes.is_empty()
            && selection.record_ids.is_empty()
            && !scope.attainments
        {
            errors.push(FieldError::new(
                "scope.records",
                "choose \"all\", or at least one kind, activity code or record id (or attainments)",
            ));
        }
        for (name, len) in [
            ("kinds", selection.kinds.len()),
            ("activity_codes", selection.activity_codes.len()),
            ("record_ids", selection.record_ids.len()),
        ] {
            if len > MAX_SELECTORS {
                errors.push(FieldError::new(
                    format!("scope.records.{name}"),
                    format!("at most {MAX_SELECTORS} entries"),
                ));
            }
        }
        for (i, code) in selection.activity_codes.iter().enumerate() {
            if code.trim().is_empty() || code.chars().count() > 200 {
                errors.push(FieldError::new(
                    format!("scope.records.activity_codes[{i}]"),
                    "must be 1 to 200 characters",
                ));
            }
        }
    }
    errors
}

/// Filters of the owner's grant list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantFilter {
    /// Only grants in this state.
    pub status: Option<GrantStatus>,
    /// Only grants to this organisation.
    pub organisation_id: Option<uuid::Uuid>,
}

/// Filters of an organisation's list of grants made to it.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceivedGrantFilter {
    /// Only grants with this permission.
    pub permission: Option<Permission>,
}
